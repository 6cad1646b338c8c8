"""Workday payroll results by worker, pay component, company and cost centre."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from contracts.canonical import PayrollEntries
from finance_pipeline.mappings import load_mapping, map_export
from finance_pipeline.validation import split_valid

EXPORT = (
    Path(__file__).resolve().parents[2] / "fixtures/exports/workday/payroll_journal_20261030.csv"
)


def test_components_cost_centres_and_signs() -> None:
    good, rejects = map_export(
        load_mapping("workday_payroll_journal"),
        EXPORT.read_bytes(),
        EXPORT.name,
        date(2026, 10, 30),
    )
    jane = good.filter(good["employee_id"] == "E1001")
    assert dict(zip(jane["component"], jane["amount"], strict=True)) == {
        "gross": Decimal("6250"),
        "employee_tax": Decimal("1100"),  # printed (1,100.00): the component says it is a cost
        "employer_tax": Decimal("387.5"),
        "benefits": Decimal("450"),
        "net": Decimal("5150"),
    }
    assert set(jane["cost_center_id"]) == {"US200"}
    assert jane["pay_period_start"][0] == date(2026, 10, 16)
    assert good.filter(good["employee_id"] == "E1002")["cost_center_id"].to_list() == [None]
    assert dict(zip(rejects["source_location"], rejects["reject_reason"], strict=True)) == {
        "line 9": "component: 'Imputed Income' is not in lookup 'component'",
        "line 10": "amount: cannot read 'n/a' as decimal",
    }
    assert split_valid(good, PayrollEntries)[1].height == 0
