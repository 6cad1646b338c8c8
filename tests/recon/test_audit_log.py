"""The append-only audit log: what produced each match, exception change and journal."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from recon_builders import canonical, result

from finance_pipeline import audit
from finance_pipeline.exceptions import candidates_frame, roll_forward
from finance_pipeline.journals import propose_journals
from finance_pipeline.trace import correlation_id

D1, D2 = date(2026, 10, 26), date(2026, 10, 27)


def _world():
    tables = {
        "payments": canonical(
            "payments",
            [
                {
                    "payment_id": "P-1",
                    "entity_id": "US01",
                    "method": "ach",
                    "received_date": D1,
                    "amount": Decimal("100.00"),
                    "currency": "USD",
                    "bank_account_id": "B1",
                    "mapping_name": None,
                    "mapping_version": None,
                    "source_file": "LBX_20261026.txt",
                }
            ],
        ),
        "invoices": canonical(
            "invoices",
            [
                {
                    "invoice_id": "INV-1",
                    "entity_id": "US01",
                    "invoice_number": "US-INV-1",
                    "issue_date": D1,
                    "due_date": D2,
                    "amount": Decimal("100.00"),
                    "open_amount": Decimal("100.00"),
                    "currency": "USD",
                    "status": "open",
                    "mapping_name": "netsuite_open_ar_invoices",
                    "mapping_version": "3",
                }
            ],
        ),
        "bank_accounts": canonical(
            "bank_accounts",
            [
                {
                    "bank_account_id": "B1",
                    "entity_id": "US01",
                    "bank_name": "First",
                    "account_number": "111",
                    "currency": "USD",
                    "gl_account": "1010",
                }
            ],
        ),
    }
    raw = pl.DataFrame(
        {
            "file_name": ["LBX_20261026.txt", "invoices_20261026.csv", "invoices_20261026.csv"],
            "business_date": ["2026-10-26"] * 3,
            "sha256": ["a" * 64, "b" * 64, "c" * 64],
            "duplicate_of": [None, None, "arrival-1"],  # a re-sent copy is not the source
        }
    )
    res = result(
        "cash_application",
        [{"match_id": "m1", "rule_id": "ca_reference_exact", "rule_version": "2026.11.1"}],
        [
            {
                "match_id": "m1",
                "side": "left",
                "record_type": "payments",
                "record_id": "P-1",
                "amount_applied": Decimal("100.00"),
                "currency": "USD",
            },
            {
                "match_id": "m1",
                "side": "right",
                "record_type": "invoices",
                "record_id": "INV-1",
                "amount_applied": Decimal("100.00"),
                "currency": "USD",
            },
        ],
    )
    return tables, raw, res


def test_events_name_raw_files_mappings_rules_and_runs(tmp_path: Path) -> None:
    tables, raw, res = _world()
    lineage = audit.record_lineage(tables, raw)
    events = audit.match_events(res.matches, res.members, lineage, run_id="run-1", business_date=D1)
    [event] = events
    assert event["event_type"] == "match_created" and event["subject_id"] == "m1"
    assert event["rule_id"] == "ca_reference_exact" and event["rule_version"] == "2026.11.1"
    assert event["raw_files"] == ["a" * 64, "b" * 64]
    assert event["mappings"] == ["netsuite_open_ar_invoices@3"]
    assert event["run_id"] == "run-1" and event["business_date"] == "2026-10-26"
    assert correlation_id("P-1") in event["correlation_ids"]

    journals = propose_journals(res.matches, res.members, tables, {})
    jevents = audit.journal_events(
        journals, res.matches, res.members, lineage, run_id="run-1", business_date=D1
    )
    assert [e["event_type"] for e in jevents] == ["journal_proposed"]
    assert jevents[0]["idempotency_keys"] == sorted(journals["idempotency_key"].to_list())
    assert jevents[0]["rule_version"] == "2026.11.1" and jevents[0]["raw_files"]

    home = tmp_path / "home"
    assert audit.append_events(home, events + jevents) == 2
    assert audit.append_events(home, events + jevents) == 0  # a rerun adds nothing
    lines = audit.audit_path(home).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["recorded_at"]
    assert audit.read_events(home, record="payments:P-1")[0]["subject_id"] == "m1"


def test_exception_state_changes_are_logged_once_each(tmp_path: Path) -> None:
    def cand(rid: str) -> dict:
        return {
            "workflow": "bank_reconciliation",
            "exception_type": "unmatched_bank_transaction",
            "record_type": "bank_transactions",
            "record_id": rid,
            "source_system": "fnb",
            "source_id": rid,
            "entity": "US01",
            "currency": "USD",
            "amount": Decimal("1.00"),
            "detail": "no ledger entry",
        }

    scope = {"bank_reconciliation"}
    day1 = roll_forward(candidates_frame([cand("a"), cand("b")]), None, D1, scope)
    day2 = roll_forward(candidates_frame([cand("a")]), day1, D2, scope)
    home = tmp_path / "home"
    e1 = audit.exception_events(day1, None, None, run_id="r1", business_date=D1)
    assert sorted(e["event_type"] for e in e1) == ["exception_opened"] * 2
    e2 = audit.exception_events(day2, day1, None, run_id="r2", business_date=D2)
    kinds = {e["records"][0]: e["event_type"] for e in e2}
    assert kinds == {
        "bank_transactions:a": "exception_aged",
        "bank_transactions:b": "exception_resolved",
    }
    resolved = next(e for e in e2 if e["event_type"] == "exception_resolved")
    assert resolved["resolution"] and resolved["run_id"] == "r2"
    assert audit.append_events(home, e1) == 2
    assert audit.append_events(home, e2) == 2
    rerun = audit.exception_events(day2, day1, None, run_id="r3", business_date=D2)
    assert audit.append_events(home, rerun) == 0
    assert [e["run_id"] for e in audit.read_events(home, event_type="exception_resolved")] == ["r2"]


def test_unknown_event_types_are_refused(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError):
        audit.append_events(tmp_path, [{"event_key": "k", "event_type": "deleted"}])
    assert audit.append_events(tmp_path, [], now=datetime(2026, 1, 1)) == 0
