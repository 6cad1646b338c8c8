"""Cash application on a small book with exactly known truth."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from matching_builders import groups, precision_recall, scenario_result

from contracts.recon import Matches, MatchMembers
from finance_pipeline.validation import split_valid


@pytest.fixture(scope="module")
def result():
    return scenario_result("cash_application")


def _match_of(result, record_id: str) -> dict:
    members = result.members.filter(pl.col("record_id") == record_id)
    assert members.height == 1, f"{record_id} is in {members.height} matches"
    mid = members["match_id"][0]
    return result.matches.filter(pl.col("match_id") == mid).row(0, named=True)


def test_outputs_validate_against_the_recon_contracts(result):
    res, _ = result
    good, bad = split_valid(res.matches, Matches)
    assert bad.height == 0, bad["reject_reason"].to_list()
    good, bad = split_valid(res.members, MatchMembers)
    assert bad.height == 0, bad["reject_reason"].to_list()
    assert res.rule_set_version.startswith("2026.11.1+")


def test_precision_and_recall_against_the_truth(result):
    res, truth = result
    precision, recall = precision_recall(groups(res.members), truth)
    auto_precision, _ = precision_recall(groups(res.members, res.matches, "auto"), truth)
    assert recall == 1.0
    assert auto_precision == 1.0
    # the only pair outside the truth is the suggested amount-only coincidence
    assert precision >= 0.9


def test_competing_candidates_take_the_best_overall_assignment(result):
    res, _ = result
    found = groups(res.members)
    assert (frozenset({"payments:P1"}), frozenset({"invoices:I-20002"})) in found
    assert (frozenset({"payments:P2"}), frozenset({"invoices:I-20001"})) in found


def test_one_check_for_three_invoices(result):
    res, _ = result
    match = _match_of(res, "P3")
    assert match["rule_id"] == "ca_reference_multi"
    assert match["status"] == "auto"
    rights = res.members.filter(
        (pl.col("match_id") == match["match_id"]) & (pl.col("side") == "right")
    )
    assert sorted(rights["record_id"]) == ["I-10002", "I-10003", "I-10004"]
    assert sum(rights["amount_applied"].to_list(), Decimal(0)) == Decimal("1000.00")
    assert "I-10001" in res.unmatched["record_id"].to_list()


def test_typo_reference_matches_the_right_invoice(result):
    res, _ = result
    match = _match_of(res, "B4")
    assert match["rule_id"] == "ca_reference_typo"
    assert match["status"] == "auto"
    assert "INV10O23" in match["explanation"] and "INV10023" in match["explanation"]
    assert "I-10024" in res.unmatched["record_id"].to_list()


def test_short_pay_within_tolerance_is_auto_with_its_reason(result):
    res, _ = result
    match = _match_of(res, "P5")
    assert (match["rule_id"], match["status"]) == ("ca_short_pay", "auto")
    assert "short-pay reason: SHORT PAID DAMAGED GOODS" in match["explanation"]
    applied = dict(
        res.members.filter(pl.col("match_id") == match["match_id"])
        .select("record_id", "amount_applied")
        .iter_rows()
    )
    # the invoice is settled in full (the 3.17 is the write-off), the check as received
    assert applied == {"P5": Decimal("1996.83"), "I-10030": Decimal("2000.00")}


def test_short_pay_beyond_tolerance_is_only_suggested(result):
    res, _ = result
    match = _match_of(res, "P6")
    assert match["status"] == "suggested"
    assert match["rule_id"] == "ca_partial_payment"
    applied = res.members.filter(pl.col("record_id") == "I-10031")["amount_applied"][0]
    assert applied == Decimal("4625.00")  # a part payment leaves the rest open


def test_amount_only_coincidence_never_auto_matches(result):
    res, _ = result
    b7 = res.members.filter(pl.col("record_id") == "B7")
    if b7.height:
        match = _match_of(res, "B7")
        assert match["status"] == "suggested"
        assert match["rule_id"] == "ca_amount_only"


def test_customer_inferred_from_payer_account(result):
    res, _ = result
    match = _match_of(res, "B8")
    assert (match["rule_id"], match["status"]) == ("ca_customer_amount", "auto")


def test_fx_payment_is_converted_before_comparing(result):
    res, _ = result
    match = _match_of(res, "B9")
    assert match["rule_id"] == "ca_reference_fx"
    currencies = dict(
        res.members.filter(pl.col("match_id") == match["match_id"])
        .select("record_id", "currency")
        .iter_rows()
    )
    assert currencies == {"B9": "EUR", "I-10050": "USD"}


def test_lockbox_deposits_and_payouts_are_not_customer_cash(result):
    res, _ = result
    ids = set(res.members["record_id"]) | set(res.unmatched["record_id"])
    assert "BL" not in ids and "BS" not in ids


def test_every_match_explains_itself(result):
    res, _ = result
    for row in res.matches.iter_rows(named=True):
        assert row["rule_id"] in row["explanation"]
        assert "confidence" in row["explanation"]
        assert 0.0 <= row["confidence"] <= 1.0


def test_unmatched_records_say_why(result):
    res, _ = result
    reasons = dict(res.unmatched.select("record_id", "reason").iter_rows())
    assert all(r.split(":")[0] for r in reasons.values())
    assert set(res.unmatched["side"]) <= {"left", "right"}
