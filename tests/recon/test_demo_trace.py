"""Integration: the seeded demo, traced from a bank deposit through a Stripe payout to orders.

One demo run per module (about a minute or two). When the graph does not yet write
``match_members`` (matching not wired into the assets), the matches are made here with the
engine over the demo's canonical tables and written to the demo's lake, so the trace is still
exercised end to end on real generated data.
"""

from __future__ import annotations

import csv
from datetime import datetime

import polars as pl
import pytest

from finance_pipeline.cli import main
from finance_pipeline.config import Home
from finance_pipeline.dedupe import partition_dates
from finance_pipeline.trace import correlation_id, load_tables, trace

pytestmark = pytest.mark.slow
WORKFLOWS = ("cash_application", "bank_reconciliation", "processor_settlement")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, bool]:
    """The demo home, and whether the graph itself wrote the matches."""
    home = Home(tmp_path_factory.mktemp("demo") / "home")
    code = main(["demo", "--home", str(home.root), "--days", "5"])
    assert code == 0
    wired = bool(partition_dates(home.lake, "match_members"))
    if not wired:
        from finance_pipeline import lake
        from finance_pipeline.matching.engine import run_workflow

        day = partition_dates(home.lake, "bank_transactions")[-1]
        tables = load_tables(home.lake, day)
        results = [
            run_workflow(w, tables, run_id="test-run", created_at=datetime(2026, 10, 30))
            for w in WORKFLOWS
        ]
        lake.write_partition(home.lake, "matches", day, pl.concat([r.matches for r in results]))
        lake.write_partition(
            home.lake, "match_members", day, pl.concat([r.members for r in results])
        )
    return home, wired


def _truth(home: Home) -> list[dict[str, str]]:
    with (home.root / "truth" / "expected_matches.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_trace_bank_deposit_to_order_through_stripe_payout(demo) -> None:
    home, wired = demo
    truth = _truth(home)
    deposits = {
        r["group_id"].removeprefix("PS-BANK-"): r["source_id"]
        for r in truth
        if r["group_id"].startswith("PS-BANK-") and r["record_type"] == "bank_transactions"
    }
    assert deposits, "the demo always settles some payouts in the bank"
    payout_id, bank_ref = sorted(deposits.items())[0]

    found = trace(bank_ref, home.lake)
    steps = {s.key: s for s in found.steps}
    start = found.steps[0]
    assert start.record_type == "bank_transactions" and start.source_id == bank_ref
    assert start.source_file and start.source_file.endswith(".bai")

    payout = steps[f"payouts:{payout_id}"]
    assert payout.via == "match" and payout.workflow == "processor_settlement"
    assert payout.link and "@" in payout.link and payout.run_id
    assert payout.source_file and payout.source_request and "/v1/payouts" in payout.source_request

    # Balance transactions of the payout (truth: PS-<payout> group), their charges, invoices
    # and the orders the invoices came from.
    txns = {
        r["source_id"]
        for r in truth
        if r["group_id"] == f"PS-{payout_id}" and r["record_type"] == "processor_transactions"
    }
    traced_txns = {s.source_id for s in found.steps if s.record_type == "processor_transactions"}
    assert txns <= traced_txns
    charges = [s for s in found.steps if s.record_type == "payments"]
    assert charges and all(s.source_id.startswith("ch_") for s in charges)
    invoices = [s for s in found.steps if s.record_type == "invoices"]
    orders = [s for s in found.steps if s.record_type == "orders"]
    assert invoices and orders
    assert all(s.link == "invoices.order_id = orders.order_id" for s in orders)
    assert all(s.mapping_name and s.mapping_version for s in invoices + orders)
    paid = {s.record_id for s in invoices}
    expected_paid = {
        r["source_id"]
        for r in truth
        if r["group_id"].removeprefix("CA-") in {c.source_id for c in charges}
        and r["record_type"] == "invoices"
    }
    assert expected_paid <= paid

    # Back up from one order: the same payout and bank line, one chain only.
    up = trace(orders[0].record_id, home.lake)
    up_keys = {s.key for s in up.steps}
    assert f"payouts:{payout_id}" in up_keys and start.key in up_keys
    assert len([s for s in up.steps if s.record_type == "orders"]) == 1

    if wired:  # the matching assets log each member's correlation id in the run logs
        import dagster as dg

        wanted = correlation_id(start.record_id)
        with dg.DagsterInstance.from_config(str(home.dagster)) as instance:
            messages = [
                e.user_message for run in instance.get_runs() for e in instance.all_logs(run.run_id)
            ]
        assert any(wanted in (m or "") for m in messages)
