"""What analysts read: the exceptions command, the HTML report and the warehouse views."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from recon_builders import canonical, result

from finance_pipeline import lake, warehouse
from finance_pipeline.cli import main
from finance_pipeline.exceptions import candidates_frame, roll_forward
from finance_pipeline.report import collect, render

D1, D2 = date(2026, 10, 26), date(2026, 10, 27)
VIEWS = Path(__file__).resolve().parents[2] / "contracts" / "views.sql"


def _cand(kind: str, workflow: str, rid: str, amount: str, detail: str, rtype: str) -> dict:
    return {
        "workflow": workflow,
        "exception_type": kind,
        "record_type": rtype,
        "record_id": rid,
        "source_system": "test",
        "source_id": rid,
        "entity": "US01",
        "currency": "USD",
        "amount": Decimal(amount),
        "detail": detail,
    }


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    lake_root = root / "lake"
    day1 = [
        _cand(
            "unmatched_bank_transaction",
            "bank_reconciliation",
            "bt-1",
            "-187.45",
            "bank fee",
            "bank_transactions",
        ),
        _cand(
            "unapplied_cash",
            "cash_application",
            "P-1",
            "70.00",
            "P-1 70.00 USD; payer Acme Corp; customer_id CUST-1",
            "payments",
        ),
        _cand(
            "unknown_customer",
            "cash_application",
            "P-2",
            "30.00",
            '=HYPERLINK("http://x") <script>alert(1)</script>',
            "payments",
        ),
        _cand("payout_mismatch", "processor_settlement", "po_9", "12.00", "short", "payouts"),
    ]
    state1 = roll_forward(
        candidates_frame(day1),
        None,
        D1,
        {"bank_reconciliation", "cash_application", "processor_settlement"},
    )
    state2 = roll_forward(
        candidates_frame(day1[:3]),
        state1,
        D2,
        {"bank_reconciliation", "cash_application", "processor_settlement"},
    )
    lake.write_partition(lake_root, "exceptions", D1, state1)
    lake.write_partition(lake_root, "exceptions", D2, state2)
    res = result(
        "cash_application",
        [{"match_id": "m1", "created_at": datetime(2026, 10, 26)}],
        [
            {
                "match_id": "m1",
                "side": s,
                "record_type": t,
                "record_id": r,
                "amount_applied": Decimal("5.00"),
                "currency": "USD",
            }
            for s, t, r in (("left", "payments", "P-9"), ("right", "invoices", "INV-9"))
        ],
    )
    lake.write_partition(lake_root, "matches", D2, res.matches)
    lake.write_partition(lake_root, "match_members", D2, res.members)
    lake.write_partition(
        lake_root,
        "payments",
        D1,
        canonical(
            "payments",
            [
                {
                    "payment_id": "P-1",
                    "entity_id": "US01",
                    "method": "ach",
                    "received_date": D1,
                    "amount": Decimal("70.00"),
                    "currency": "USD",
                    "customer_id": "CUST-1",
                },
            ],
        ),
    )
    lake.write_partition(
        lake_root,
        "customers",
        D1,
        canonical(
            "customers",
            [
                {
                    "customer_id": "CUST-1",
                    "entity_id": "US01",
                    "name": "Acme Corp",
                    "currency": "USD",
                },
            ],
        ),
    )
    lake.write_partition(
        lake_root,
        "bank_accounts",
        D1,
        canonical(
            "bank_accounts",
            [
                {
                    "bank_account_id": "B1",
                    "entity_id": "US01",
                    "bank_name": "First",
                    "account_number": "4820017731",
                    "currency": "USD",
                    "gl_account": "1010",
                },
            ],
        ),
    )
    lake.write_partition(
        lake_root,
        "bank_balances",
        D2,
        canonical(
            "bank_balances",
            [
                {
                    "balance_id": "bb1",
                    "account_number": "4820017731",
                    "entity_id": "US01",
                    "as_of": D2,
                    "kind": "closing",
                    "amount": Decimal("1000.00"),
                    "currency": "USD",
                },
            ],
        ),
    )
    lake.write_partition(
        lake_root,
        "gl_journal_lines",
        D2,
        canonical(
            "gl_journal_lines",
            [
                {
                    "gl_line_id": f"g{n}",
                    "journal_id": "J",
                    "line_no": n,
                    "entity_id": "US01",
                    "posting_date": D2,
                    "gl_account": acct,
                    "debit": Decimal(dr),
                    "credit": Decimal(cr),
                    "currency": "USD",
                }
                for n, acct, dr, cr in ((1, "1010", "900.00", "0"), (2, "4000", "0", "890.00"))
            ],
        ),
    )
    return root


def test_exceptions_command_filters_and_formats(home: Path, capsys) -> None:
    assert main(["exceptions", "--home", str(home), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"open", "resolved"}
    assert (
        main(
            [
                "exceptions",
                "--home",
                str(home),
                "--status",
                "open",
                "--owner",
                "ar",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert {r["record_id"] for r in rows} == {"P-1", "P-2"}
    assert rows[0]["amount"] in ("70.0000", "30.0000") and rows[0]["age_days"] == 1
    assert main(["exceptions", "--home", str(home), "--type", "payout_mismatch"]) == 0
    out = capsys.readouterr().out
    assert "po_9" in out and "resolved" in out and "1 exception(s)" in out
    assert main(["exceptions", "--home", str(home), "--format", "csv"]) == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    detail = next(r["detail"] for r in parsed if r["record_id"] == "P-2")
    assert detail.startswith("'=HYPERLINK")  # formula-injection safe
    assert main(["exceptions", "--home", str(home / "nowhere")]) == 0


def test_report_is_self_contained_html_with_charts(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    assert main(["report", "--home", str(home), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 3
    assert "<script" not in text  # no JS at all, and the planted one is escaped
    assert "&lt;script&gt;" in text
    assert "src=" not in text and "<link" not in text  # nothing fetched from anywhere
    assert "as of 2026-10-27" in text
    assert "4820017731" not in text and "******7731" in text  # account numbers masked
    html = render(collect(home / "lake"), generated_at=datetime(2026, 10, 27, 8))
    assert "generated 2026-10-27T08:00:00" in html
    assert main(["report", "--home", str(home)]) == 0 and (home / "report.html").exists()


def _views(warehouse_path: Path) -> dict[str, pl.DataFrame]:
    names = (
        "open_exceptions_by_owner_age",
        "unapplied_cash_by_customer",
        "unbalanced_entities",
        "unreconciled_cash",
        "match_rate_by_day",
    )
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(VIEWS.read_text(encoding="utf-8"))
        return {n: con.sql(f"SELECT * FROM recon.{n}").pl() for n in names}


def test_analyst_views(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    warehouse.refresh(path, home / "lake")
    views = _views(path)
    ages = views["open_exceptions_by_owner_age"]
    assert dict(ages.group_by("owner_role").agg(pl.col("open_count").sum()).rows()) == {
        "ar": 2,
        "treasury": 1,
    }
    assert set(ages["age_bucket"]) == {"0-7"}
    cash = views["unapplied_cash_by_customer"].sort("customer_id", nulls_last=True)
    assert cash.select("customer_id", "customer_name", "unapplied_amount").rows()[0] == (
        "CUST-1",
        "Acme Corp",
        Decimal("70.0000"),
    )
    unbalanced = views["unbalanced_entities"]
    assert unbalanced.select("source", "entity", "difference").rows() == [
        ("gl_journal_lines", "US01", Decimal("10.0000"))
    ]
    cash_gl = views["unreconciled_cash"].row(0, named=True)
    assert cash_gl["difference"] == Decimal("100.0000")
    rate = views["match_rate_by_day"].filter(pl.col("workflow") == "cash_application")
    assert rate.select("day", "records", "auto_matched").rows() == [
        (D1, 4, 2),
        (D2, 4, 2),
    ]  # P-9/INV-9 matched; P-1, P-2 open


def test_views_work_on_an_empty_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    (tmp_path / "lake").mkdir()
    warehouse.refresh(path, tmp_path / "lake")
    assert all(v.height == 0 for v in _views(path).values())
