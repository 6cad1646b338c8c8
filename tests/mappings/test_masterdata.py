"""Master data snapshots, cross-system identifier maps and unknown-reference flags."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from contracts.canonical import CostCenters, Customers, Invoices, PayrollEntries, TaxCodes
from finance_pipeline import lake
from finance_pipeline.mappings import parse_mapping
from finance_pipeline.masterdata import (
    REFERENCE_FLAG_SCHEMA,
    identifier_map,
    latest_snapshot,
    reference_flags,
    resolve_references,
)
from finance_pipeline.validation import frame_from_rows

D25, D26, D27 = date(2026, 10, 25), date(2026, 10, 26), date(2026, 10, 27)


def _customer(cid: str, day: date = D26, **ids) -> dict:
    return {
        "business_date": day,
        "source_system": "netsuite",
        "source_id": cid,
        "customer_id": cid,
        "entity_id": "US01",
        "name": ids.pop("name", f"Customer {cid}"),
        "currency": "USD",
        **ids,
    }


def test_snapshot_is_todays_delivery_else_the_latest_earlier_partition(tmp_path: Path) -> None:
    lake.write_partition(
        tmp_path, "customers", D25, frame_from_rows([_customer("C0", D25)], Customers)
    )
    lake.write_partition(tmp_path, "customers", D26, frame_from_rows([], Customers))  # empty day
    lake.write_partition(
        tmp_path, "customers", D27, frame_from_rows([_customer("C9", D27)], Customers)
    )
    assert latest_snapshot("customers", None, tmp_path, D26)["customer_id"].to_list() == ["C0"]
    today = frame_from_rows([_customer("C1", D26)], Customers)
    assert latest_snapshot("customers", [today], tmp_path, D26)["customer_id"].to_list() == ["C1"]
    assert latest_snapshot("customers", None, tmp_path, date(2026, 10, 1)).height == 0
    assert latest_snapshot("customers", None, None, D26).columns == today.columns


def test_identifier_map_links_every_system_and_drops_ambiguous_ids() -> None:
    customers = frame_from_rows(
        [
            _customer("C1", erp_customer_id="4001", crm_account_id="001A", name="Acme Corp"),
            _customer("C2", erp_customer_id="4002", stripe_customer_id="cus_2", payer_account="P"),
            _customer("C3", erp_customer_id="4003", payer_account="P"),  # shared payer account
        ],
        Customers,
    )
    ids = identifier_map({"customers": customers})
    pairs = {(r["system"], r["external_id"]): r["canonical_id"] for r in ids.iter_rows(named=True)}
    assert pairs[("erp", "4001")] == "C1" and pairs[("crm", "001A")] == "C1"
    assert pairs[("stripe", "cus_2")] == "C2" and pairs[("name", "acme corp")] == "C1"
    assert ("bank", "P") not in pairs  # two customers share it: not an identifier


def test_resolution_applies_only_to_rows_of_mappings_that_ask_for_it() -> None:
    mapping = parse_mapping(
        {
            "name": "ns",
            "version": "3",
            "table": "invoices",
            "source_system": "netsuite",
            "columns": {
                "source_id": "id",
                "invoice_id": "id",
                "invoice_number": "id",
                "entity_id": {"from": "sub", "resolve": "name"},
                "customer_id": {"from": "cust", "resolve": "erp"},
                "issue_date": "d",
                "due_date": "d",
                "amount": "a",
                "open_amount": "a",
                "currency": "c",
                "status": "s",
            },
        }
    )
    master = {
        "customers": frame_from_rows([_customer("C1", erp_customer_id="4001")], Customers),
        "legal_entities": pl.DataFrame(
            {"entity_id": ["US01"], "name": ["Acme US Inc."]},
            schema={"entity_id": pl.String, "name": pl.String},
        ),
    }
    frame = pl.DataFrame(
        {
            "mapping_name": ["ns", "ns", "identity"],
            "mapping_version": ["3", "3", "1"],
            "customer_id": ["4001", "9999", "4001"],
            "entity_id": [" acme us inc.", "Nowhere Ltd", "US01"],
        }
    )
    out = resolve_references(frame, "invoices", [mapping], master)
    assert out["customer_id"].to_list() == ["C1", "9999", "4001"]
    assert out["entity_id"].to_list() == ["US01", "Nowhere Ltd", "US01"]


def _invoice(inv: str, customer: str | None, tax: str | None, entity: str = "US01") -> dict:
    return {
        "business_date": D27,
        "source_system": "netsuite",
        "source_id": f"src-{inv}",
        "invoice_id": inv,
        "entity_id": entity,
        "customer_id": customer,
        "invoice_number": inv,
        "issue_date": D26,
        "due_date": D27,
        "amount": Decimal("1"),
        "open_amount": Decimal("1"),
        "currency": "USD",
        "tax_code": tax,
        "status": "open",
    }


def test_reference_flags_keep_every_record_and_say_what_is_unknown() -> None:
    invoices = frame_from_rows(
        [
            _invoice("i1", "C1", "US-NT"),
            _invoice("i2", "C404", "US-NT"),
            _invoice("i3", None, None),
            _invoice("i4", "C1", "US-NT", entity="DE01"),  # US01's tax code used by DE01
        ],
        Invoices,
    )
    payroll = frame_from_rows(
        [
            {
                "business_date": D27,
                "source_system": "workday",
                "source_id": f"p{n}",
                "payroll_entry_id": f"p{n}",
                "entity_id": "US01",
                "pay_period_start": D25,
                "pay_period_end": D26,
                "pay_date": D27,
                "employee_id": "E1",
                "cost_center_id": cc,
                "component": "gross",
                "amount": Decimal("1"),
                "currency": "USD",
            }
            for n, cc in enumerate(["US100", "US999", None])
        ],
        PayrollEntries,
    )
    master = {
        "customers": frame_from_rows([_customer("C1")], Customers),
        "tax_codes": frame_from_rows(
            [
                {
                    "business_date": D26,
                    "source_system": "ns",
                    "source_id": "t",
                    "entity_id": "US01",
                    "tax_code": "US-NT",
                    "rate": Decimal("0"),
                }
            ],
            TaxCodes,
        ),  # fmt: skip
        "cost_centers": frame_from_rows(
            [
                {
                    "business_date": D26,
                    "source_system": "ns",
                    "source_id": "c",
                    "entity_id": "US01",
                    "cost_center_id": "US100",
                    "name": "Sales",
                }
            ],
            CostCenters,
        ),  # fmt: skip
        "vendors": frame_from_rows([], Customers).head(0),  # never delivered: no vendor checks
    }
    flags = reference_flags({"invoices": invoices, "payroll_entries": payroll}, master)
    assert flags.schema == pl.Schema(REFERENCE_FLAG_SCHEMA)
    got = {(r["record_id"], r["flag"]): r["detail"] for r in flags.iter_rows(named=True)}
    assert got == {
        ("i2", "unknown_customer"): "customer_id 'C404' is not in customers "
        "(master data of 2026-10-26)",
        ("i3", "unknown_customer"): "customer_id is empty",
        ("i3", "missing_tax_code"): "tax_code is empty",
        ("i4", "missing_tax_code"): "tax_code 'US-NT' is not in tax_codes of entity DE01 "
        "(master data of 2026-10-26)",
        ("p1", "invalid_cost_center"): "cost_center_id 'US999' is not in cost_centers of "
        "entity US01 (master data of 2026-10-26)",
        ("p2", "invalid_cost_center"): "cost_center_id is empty",
    }
    assert set(flags["source_system"]) == {"netsuite", "workday"}
    assert flags.filter(pl.col("record_id") == "i2")["source_id"].to_list() == ["src-i2"]
    assert reference_flags({"invoices": invoices}, {}).height == 0
