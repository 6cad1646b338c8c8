"""Bank reconciliation, processor settlement, three-way and payroll on known-truth data."""

from __future__ import annotations

import polars as pl
import pytest
from matching_builders import RUN, SCENARIOS, groups, precision_recall, scenario_result

from contracts.recon import Matches, MatchMembers
from finance_pipeline.matching.engine import run_workflow
from finance_pipeline.validation import split_valid


@pytest.fixture(scope="module")
def results():
    return {workflow: scenario_result(workflow) for workflow in SCENARIOS}


def _status(result, record_id: str) -> tuple[str, str]:
    mid = result.members.filter(pl.col("record_id") == record_id)["match_id"][0]
    row = result.matches.filter(pl.col("match_id") == mid).row(0, named=True)
    return row["rule_id"], row["status"]


@pytest.mark.parametrize("workflow", list(SCENARIOS))
def test_precision_recall_and_contracts(results, workflow):
    result, truth = results[workflow]
    assert split_valid(result.matches, Matches)[1].height == 0
    assert split_valid(result.members, MatchMembers)[1].height == 0
    precision, recall = precision_recall(groups(result.members), truth)
    auto_precision, _ = precision_recall(groups(result.members, result.matches, "auto"), truth)
    assert (recall, auto_precision) == (1.0, 1.0)
    # cash application's one stray pair is its suggested amount-only coincidence
    assert precision == 1.0 or (workflow == "cash_application" and precision >= 0.9)


def test_bank_reconciliation_cases(results):
    result, _ = results["bank_reconciliation"]
    assert _status(result, "B2") == ("br_fee_netted", "auto")
    assert _status(result, "B3") == ("br_lockbox_deposit", "auto")
    assert _status(result, "B6")[0] == "br_reference"  # payout id found via its descriptor
    unmatched = dict(result.unmatched.select("record_id", "side").iter_rows())
    assert unmatched == {"B7": "left", "JE-8-02": "right"}
    fee = result.matches.filter(pl.col("rule_id") == "br_fee_netted")["explanation"][0]
    assert "difference -25.00" in fee


def test_processor_settlement_cases(results):
    result, _ = results["processor_settlement"]
    rule, status = _status(result, "po_A")
    assert rule == "ps_payout_composition+ps_payout_bank_descriptor" and status == "auto"
    assert _status(result, "po_B") == ("ps_payout_composition_variance", "suggested")
    reasons = dict(result.unmatched.select("record_id", "reason").iter_rows())
    assert reasons["po_B"].startswith("missing_leg")
    assert "t4" not in reasons and "t4" not in result.members["record_id"].to_list()
    assert reasons["BX"].startswith("no_candidate")


def test_three_way_cases(results):
    result, _ = results["three_way_match"]
    assert _status(result, "PO-1-1")[1] == "auto"
    assert _status(result, "PO-2-1")[1] == "auto"
    assert _status(result, "PO-3-1") == ("tw_receipts+tw_bill_variance", "suggested")
    assert _status(result, "PO-4-1")[1] == "suggested"
    reasons = dict(result.unmatched.select("record_id", "reason").iter_rows())
    assert reasons["PO-5-1"].startswith("missing_leg")
    assert "VB-9" not in reasons  # non-PO bills are outside the three-way match


def test_payroll_cases(results):
    result, _ = results["payroll_to_ledger"]
    assert _status(result, "PR-E1-gross") == ("pl_cost_center_total", "auto")
    assert _status(result, "PR-E3-gross") == ("pl_account_total", "suggested")
    assert _status(result, "PR-E3-net") == ("pl_cost_center_total", "auto")
    unmatched = set(result.unmatched["record_id"])
    assert unmatched == {"JE-P-06", "JE-F-01"} - {"JE-F-01"}  # funding debit is not a posting


@pytest.mark.parametrize("workflow", list(SCENARIOS))
def test_missing_tables_count_as_empty(workflow):
    result = run_workflow(workflow, {}, **RUN)
    assert (result.matches.height, result.members.height, result.unmatched.height) == (0, 0, 0)
    assert split_valid(result.matches, Matches)[1].height == 0
    assert split_valid(result.members, MatchMembers)[1].height == 0
