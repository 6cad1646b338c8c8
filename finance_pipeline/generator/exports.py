"""CSV exports of the ERP, CRM, procurement and payroll systems in the identity mapping.

The header is the canonical table's columns (from the Pandera contract) without the lineage
columns the pipeline fills itself, but with ``source_system`` and ``source_id``. Decimals are
plain strings, dates ISO, nulls empty cells, rows sorted by source id, ``\\n`` line ends.
Master data is a full snapshot every day; transactional tables hold that day's records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.generator.model import World
from finance_pipeline.validation import polars_schema

# Lineage columns the pipeline fills when it reads an export.
PIPELINE_LINEAGE = (
    "business_date",
    "source_file",
    "source_request",
    "source_location",
    "mapping_name",
    "mapping_version",
)

# The functional-currency block the pipeline derives itself (where a table has
# ``functional_amount``): not exported. ``legal_entities.functional_currency`` is master data.
PIPELINE_DERIVED = ("functional_amount", "functional_currency", "fx_rate", "fx_rate_date")

# table -> folder under landing/ (and its source system)
EXPORT_TABLES: dict[str, tuple[str, str]] = {
    "legal_entities": ("erp", "netsuite"),
    "customers": ("erp", "netsuite"),
    "vendors": ("erp", "netsuite"),
    "gl_accounts": ("erp", "netsuite"),
    "cost_centers": ("erp", "netsuite"),
    "tax_codes": ("erp", "netsuite"),
    "bank_accounts": ("erp", "netsuite"),
    "invoices": ("erp", "netsuite"),
    "bills": ("erp", "netsuite"),
    "gl_journal_lines": ("erp", "netsuite"),
    "fx_rates": ("erp", "netsuite"),
    "orders": ("crm", "salesforce"),
    "purchase_orders": ("procurement", "coupa"),
    "receipts": ("procurement", "coupa"),
    "payroll_entries": ("payroll", "workday"),
}
MASTER_TABLES = (
    "legal_entities",
    "customers",
    "vendors",
    "gl_accounts",
    "cost_centers",
    "tax_codes",
    "bank_accounts",
)

Row = dict[str, Any]


def export_columns(table: str) -> list[str]:
    """The export header of ``table``: contract columns minus what the pipeline fills."""
    columns = [c for c in polars_schema(CANONICAL_MODELS[table]) if c not in PIPELINE_LINEAGE]
    if "functional_amount" in columns:  # the conversion block the pipeline computes
        columns = [c for c in columns if c not in PIPELINE_DERIVED]
    return columns


def export_path(table: str, day: date) -> str:
    folder, _ = EXPORT_TABLES[table]
    return f"landing/{folder}/{table}_{day:%Y%m%d}.csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_csv(table: str, rows: Iterable[Row]) -> str:
    """CSV text of ``rows`` (dicts keyed by export column), sorted by source id."""
    columns = export_columns(table)
    nullable = {
        name for name, col in CANONICAL_MODELS[table].to_schema().columns.items() if col.nullable
    }
    _, system = EXPORT_TABLES[table]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    complete = []
    for row in rows:
        full = {"source_system": system, **row}
        missing = set(columns) - set(full)
        extra = set(full) - set(columns)
        if missing - nullable or extra:
            raise KeyError(f"{table}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        # an optional column the contract gained after this writer was written stays empty
        complete.append({**dict.fromkeys(missing), **full})
    for full in sorted(complete, key=lambda r: r["source_id"]):
        writer.writerow([_cell(full[c]) for c in columns])
    return buffer.getvalue()


def _legal_entities(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": e.entity_id,
            "entity_id": e.entity_id,
            "name": e.name,
            "country": e.country,
            "functional_currency": e.currency,
        }
        for e in world.entities
    ]


def _customers(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": c.customer_id,
            "customer_id": c.customer_id,
            "entity_id": c.entity_id,
            "name": c.name,
            "country": c.country,
            "currency": c.currency,
            "erp_customer_id": c.erp_customer_id,
            "crm_account_id": c.crm_account_id,
            "stripe_customer_id": c.stripe_customer_id,
            "payer_account": c.payer_account,
        }
        for c in world.customers
        if c.in_master
    ]


def _vendors(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": v.vendor_id,
            "vendor_id": v.vendor_id,
            "entity_id": v.entity_id,
            "name": v.name,
            "country": v.country,
            "currency": v.currency,
            "erp_vendor_id": v.erp_vendor_id,
            "payee_account": v.payee_account,
        }
        for v in world.vendors
        if v.in_master
    ]


def _gl_accounts(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": f"{a.entity_id}-{a.code}",
            "entity_id": a.entity_id,
            "account_code": a.code,
            "name": a.name,
            "account_type": a.account_type,
            "currency": a.currency,
        }
        for a in world.gl_accounts
    ]


def _cost_centers(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": f"{c.entity_id}-{c.cost_center_id}",
            "entity_id": c.entity_id,
            "cost_center_id": c.cost_center_id,
            "name": c.name,
        }
        for c in world.cost_centers
    ]


def _tax_codes(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": f"{t.entity_id}-{t.tax_code}",
            "entity_id": t.entity_id,
            "tax_code": t.tax_code,
            "rate": t.rate.quantize(Decimal("0.000001")),
            "description": t.description,
        }
        for t in world.tax_codes
    ]


def _bank_accounts(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": b.bank_account_id,
            "bank_account_id": b.bank_account_id,
            "entity_id": b.entity_id,
            "bank_name": b.bank_name,
            "account_number": b.account_number,
            "currency": b.currency,
            "gl_account": b.gl_account,
        }
        for b in world.bank_accounts
    ]


def _invoices(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": i.invoice_id,
            "invoice_id": i.invoice_id,
            "entity_id": i.entity_id,
            "customer_id": i.customer_id,
            "invoice_number": i.invoice_number,
            "order_id": i.order_id,
            "issue_date": i.issue_date,
            "due_date": i.due_date,
            "amount": i.amount,
            "open_amount": i.open_amount,
            "currency": i.currency,
            "tax_code": i.tax_code,
            "status": i.status,
        }
        for i in world.invoices
        if i.export_date == day
    ]


def _bills(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": b.bill_line_id,
            "bill_line_id": b.bill_line_id,
            "bill_number": b.bill_number,
            "line_no": b.line_no,
            "entity_id": b.entity_id,
            "vendor_id": b.vendor_id,
            "po_number": b.po_number,
            "po_line_no": b.po_line_no,
            "bill_date": b.bill_date,
            "due_date": b.due_date,
            "quantity": b.quantity,
            "unit_price": b.unit_price,
            "amount": b.amount,
            "currency": b.currency,
            "tax_code": b.tax_code,
        }
        for b in world.bill_lines
        if b.bill_date == day
    ]


def _gl_journal_lines(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": line.gl_line_id,
            "gl_line_id": line.gl_line_id,
            "journal_id": line.journal_id,
            "line_no": line.line_no,
            "entity_id": line.entity_id,
            "posting_date": line.posting_date,
            "gl_account": line.gl_account,
            "cost_center_id": line.cost_center_id,
            "debit": line.debit,
            "credit": line.credit,
            "currency": line.currency,
            "description": line.description,
            "reference": line.reference,
        }
        for line in world.journal_lines()
        if line.posting_date == day
    ]


def _fx_rates(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": f"{r.rate_date.isoformat()}-{r.base_currency}-{r.quote_currency}",
            "rate_date": r.rate_date,
            "base_currency": r.base_currency,
            "quote_currency": r.quote_currency,
            "rate": r.rate,
        }
        for r in world.fx_rates
        if r.rate_date == day
    ]


def _orders(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": o.order_id,
            "order_id": o.order_id,
            "entity_id": o.entity_id,
            "customer_id": o.customer_id,
            "order_number": o.order_number,
            "order_date": o.order_date,
            "amount": o.amount,
            "currency": o.currency,
            "status": o.status,
            "crm_opportunity_id": o.crm_opportunity_id,
        }
        for o in world.orders
        if o.export_date == day
    ]


def _purchase_orders(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": p.po_line_id,
            "po_line_id": p.po_line_id,
            "po_number": p.po_number,
            "line_no": p.line_no,
            "entity_id": p.entity_id,
            "vendor_id": p.vendor_id,
            "order_date": p.order_date,
            "item": p.item,
            "quantity": p.quantity,
            "unit_price": p.unit_price,
            "amount": p.amount,
            "currency": p.currency,
            "cost_center_id": p.cost_center_id,
        }
        for p in world.po_lines
        if p.export_date == day
    ]


def _receipts(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": r.receipt_line_id,
            "receipt_line_id": r.receipt_line_id,
            "receipt_number": r.receipt_number,
            "po_number": r.po_number,
            "po_line_no": r.po_line_no,
            "entity_id": r.entity_id,
            "received_date": r.received_date,
            "quantity": r.quantity,
        }
        for r in world.receipt_lines
        if r.received_date == day
    ]


def _payroll_entries(world: World, day: date) -> list[Row]:
    return [
        {
            "source_id": e.payroll_entry_id,
            "payroll_entry_id": e.payroll_entry_id,
            "entity_id": e.entity_id,
            "pay_period_start": e.pay_period_start,
            "pay_period_end": e.pay_period_end,
            "pay_date": e.pay_date,
            "employee_id": e.employee_id,
            "cost_center_id": e.cost_center_id,
            "component": e.component,
            "amount": e.amount,
            "currency": e.currency,
        }
        for e in world.payroll_entries
        if e.pay_date == day
    ]


_ROWS: dict[str, Callable[[World, date], list[Row]]] = {
    "legal_entities": _legal_entities,
    "customers": _customers,
    "vendors": _vendors,
    "gl_accounts": _gl_accounts,
    "cost_centers": _cost_centers,
    "tax_codes": _tax_codes,
    "bank_accounts": _bank_accounts,
    "invoices": _invoices,
    "bills": _bills,
    "gl_journal_lines": _gl_journal_lines,
    "fx_rates": _fx_rates,
    "orders": _orders,
    "purchase_orders": _purchase_orders,
    "receipts": _receipts,
    "payroll_entries": _payroll_entries,
}


def render_day(world: World, day: date) -> dict[str, str]:
    """Relative path -> CSV text of every export written on ``day``."""
    files: dict[str, str] = {}
    for table in EXPORT_TABLES:
        rows = _ROWS[table](world, day)
        if table == "payroll_entries" and not rows:
            continue  # Workday sends the register on pay days only
        files[export_path(table, day)] = render_csv(table, rows)
    return files
