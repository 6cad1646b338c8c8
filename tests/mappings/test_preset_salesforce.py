"""Salesforce / CPQ closed-won opportunities with their orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from contracts.canonical import Orders
from finance_pipeline.mappings import load_mapping, map_export
from finance_pipeline.validation import split_valid

EXPORT = Path(__file__).resolve().parents[2] / "fixtures/exports/salesforce/closed_won_20261027.csv"


def test_closed_won_only_with_order_numbers_or_opportunity_ids() -> None:
    good, rejects = map_export(
        load_mapping("salesforce_closed_won"), EXPORT.read_bytes(), EXPORT.name, date(2026, 10, 27)
    )
    assert good["order_id"].to_list() == [
        "sf-006Dn000004XyZ1IAK",
        "sf-006Dn000004XyZ2IAK",
        "sf-006Dn000004XyZ4IAK",  # XyZ3 is still negotiating
    ]
    assert good["order_number"].to_list() == ["00000101", "006Dn000004XyZ2IAK", "00000104"]
    assert good["amount"].to_list() == [Decimal("12500"), Decimal("4200"), Decimal("1000")]
    assert set(good["status"]) == {"closed_won"}
    assert good["crm_opportunity_id"][0] == "006Dn000004XyZ1IAK"
    assert good["customer_id"][0] == "001Dn000003qa7yIAA"  # CRM account id, resolved later
    assert rejects["reject_reason"].to_list() == [
        "order_date: cannot read '2026/10/27' as date (%m/%d/%Y)"
    ]
    assert split_valid(good, Orders)[1].height == 0
