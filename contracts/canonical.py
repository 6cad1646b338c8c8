"""Pandera (polars) models of every canonical table.

Every canonical row keeps where it came from: ``source_system``, ``source_id`` (the id as the
source wrote it), ``source_file`` or ``source_request``, the line or element inside it, and the
mapping (name and version) that produced it. Money is ``DECIMAL(18,4)`` in major units beside a
checked ISO 4217 currency code; never a float.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera import extensions
from pandera.api.polars.types import PolarsData
from pandera.engines import polars_engine as pe

from finance_pipeline.money import CURRENCY_CODES, MONEY_PRECISION, MONEY_SCALE

_CURRENCIES = sorted(CURRENCY_CODES)
Money = pe.Decimal


@extensions.register_check_method(statistics=[])
def iso_4217(data: PolarsData) -> pl.LazyFrame:
    """The column holds active ISO 4217 currency codes (a short name for short reject reasons)."""
    return data.lazyframe.select(pl.col(data.key).is_in(_CURRENCIES))


Rate = pe.Decimal


def money(*, nullable: bool = False, ge: int | None = None) -> object:
    """A DECIMAL(18,4) money column."""
    checks = {} if ge is None else {"ge": ge}
    return pa.Field(
        dtype_kwargs={"precision": MONEY_PRECISION, "scale": MONEY_SCALE},
        nullable=nullable,
        **checks,
    )


def currency(*, nullable: bool = False) -> object:
    """An ISO 4217 currency code column."""
    return pa.Field(nullable=nullable, iso_4217=())


def identifier(*, unique: bool = False) -> object:
    return pa.Field(str_length={"min_value": 1}, unique=unique)


def optional() -> object:
    return pa.Field(nullable=True)


def functional_currency_field() -> object:
    """A nullable ISO 4217 column (own helper: model bodies shadow ``currency``)."""
    return pa.Field(nullable=True, iso_4217=())


def exchange_rate(*, nullable: bool = False) -> object:
    """A DECIMAL(18,8) exchange-rate column (strictly positive)."""
    return pa.Field(dtype_kwargs={"precision": 18, "scale": 8}, gt=0, nullable=nullable)


class Lineage(pa.DataFrameModel):
    """Columns every canonical table carries so any row can be traced to its bytes."""

    business_date: dt.date
    source_system: str = identifier()
    source_id: str = identifier()
    source_file: str | None = optional()
    source_request: str | None = optional()
    source_location: str | None = optional()
    mapping_name: str | None = optional()
    mapping_version: str | None = optional()

    class Config:
        strict = True
        coerce = False


class LegalEntities(Lineage):
    entity_id: str = identifier(unique=True)
    name: str
    country: str = pa.Field(str_length={"min_value": 2, "max_value": 2})
    functional_currency: str = currency()


class Customers(Lineage):
    customer_id: str = identifier(unique=True)
    entity_id: str = identifier()
    name: str
    country: str | None = optional()
    currency: str = currency()
    erp_customer_id: str | None = optional()
    crm_account_id: str | None = optional()
    stripe_customer_id: str | None = optional()
    payer_account: str | None = optional()


class Vendors(Lineage):
    vendor_id: str = identifier(unique=True)
    entity_id: str = identifier()
    name: str
    country: str | None = optional()
    currency: str = currency()
    erp_vendor_id: str | None = optional()
    payee_account: str | None = optional()


class GlAccounts(Lineage):
    entity_id: str = identifier()
    account_code: str = identifier()
    name: str
    account_type: str = pa.Field(isin=["asset", "liability", "equity", "revenue", "expense"])
    currency: str | None = currency(nullable=True)

    class Config:
        unique = ["entity_id", "account_code"]


class CostCenters(Lineage):
    entity_id: str = identifier()
    cost_center_id: str = identifier()
    name: str

    class Config:
        unique = ["entity_id", "cost_center_id"]


class TaxCodes(Lineage):
    entity_id: str = identifier()
    tax_code: str = identifier()
    rate: Rate = pa.Field(dtype_kwargs={"precision": 9, "scale": 6}, ge=0)
    description: str | None = optional()

    class Config:
        unique = ["entity_id", "tax_code"]


class BankAccounts(Lineage):
    bank_account_id: str = identifier(unique=True)
    entity_id: str = identifier()
    bank_name: str
    account_number: str = identifier()
    currency: str = currency()
    gl_account: str = identifier()


class BankTransactions(Lineage):
    transaction_id: str = identifier(unique=True)
    bank_account_id: str | None = optional()
    account_number: str = identifier()
    entity_id: str | None = optional()
    file_format: str
    booking_date: dt.date | None = optional()
    value_date: dt.date | None = optional()
    amount: Money = money()
    currency: str = currency()
    status: str = pa.Field(isin=["BOOK", "PDNG", "INFO"])
    reversal: bool
    type_code: str | None = optional()
    bank_reference: str | None = optional()
    customer_reference: str | None = optional()
    end_to_end_id: str | None = optional()
    acct_svcr_ref: str | None = optional()
    check_number: str | None = optional()
    counterparty_name: str | None = optional()
    counterparty_account: str | None = optional()
    remittance_text: str | None = optional()
    remittance_refs: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class BankBalances(Lineage):
    balance_id: str = identifier(unique=True)
    bank_account_id: str | None = optional()
    account_number: str = identifier()
    entity_id: str | None = optional()
    as_of: dt.date | None = optional()
    kind: str
    amount: Money = money()
    currency: str = currency()
    statement_sequence: str | None = optional()


class Invoices(Lineage):
    invoice_id: str = identifier(unique=True)
    entity_id: str = identifier()
    customer_id: str | None = optional()
    invoice_number: str = identifier()
    order_id: str | None = optional()
    issue_date: dt.date
    due_date: dt.date
    amount: Money = money()
    open_amount: Money = money()
    currency: str = currency()
    tax_code: str | None = optional()
    status: str = pa.Field(isin=["open", "paid", "partially_paid", "void"])
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class Payments(Lineage):
    payment_id: str = identifier(unique=True)
    entity_id: str | None = optional()
    method: str = pa.Field(isin=["lockbox", "ach", "wire", "card", "check"])
    received_date: dt.date
    amount: Money = money()
    currency: str = currency()
    payer_name: str | None = optional()
    payer_account: str | None = optional()
    customer_id: str | None = optional()
    reference: str | None = optional()
    bank_account_id: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class RemittanceLines(Lineage):
    remittance_id: str = identifier(unique=True)
    payment_id: str = identifier()
    line_no: int = pa.Field(ge=1)
    reference: str
    amount: Money | None = money(nullable=True)
    currency: str = currency()


class ProcessorTransactions(Lineage):
    processor_txn_id: str = identifier(unique=True)
    entity_id: str | None = optional()
    type: str
    source_object_id: str | None = optional()
    amount: Money = money()
    fee: Money = money()
    net: Money = money()
    currency: str = currency()
    created_at: dt.datetime
    available_on: dt.date | None = optional()
    payout_id: str | None = optional()
    customer_ref: str | None = optional()
    invoice_ref: str | None = optional()
    description: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class Payouts(Lineage):
    payout_id: str = identifier(unique=True)
    entity_id: str | None = optional()
    amount: Money = money()
    currency: str = currency()
    created_date: dt.date
    arrival_date: dt.date
    status: str
    destination_account: str | None = optional()
    statement_descriptor: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class Orders(Lineage):
    order_id: str = identifier(unique=True)
    entity_id: str = identifier()
    customer_id: str | None = optional()
    order_number: str = identifier()
    order_date: dt.date
    amount: Money = money()
    currency: str = currency()
    status: str
    crm_opportunity_id: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class PurchaseOrders(Lineage):
    po_line_id: str = identifier(unique=True)
    po_number: str = identifier()
    line_no: int = pa.Field(ge=1)
    entity_id: str = identifier()
    vendor_id: str | None = optional()
    order_date: dt.date
    item: str
    quantity: Money = money()
    unit_price: Money = money()
    amount: Money = money()
    currency: str = currency()
    cost_center_id: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class Receipts(Lineage):
    receipt_line_id: str = identifier(unique=True)
    receipt_number: str = identifier()
    po_number: str = identifier()
    po_line_no: int = pa.Field(ge=1)
    entity_id: str = identifier()
    received_date: dt.date
    quantity: Money = money()


class Bills(Lineage):
    bill_line_id: str = identifier(unique=True)
    bill_number: str = identifier()
    line_no: int = pa.Field(ge=1)
    entity_id: str = identifier()
    vendor_id: str | None = optional()
    po_number: str | None = optional()
    po_line_no: int | None = optional()
    bill_date: dt.date
    due_date: dt.date
    quantity: Money = money()
    unit_price: Money = money()
    amount: Money = money()
    currency: str = currency()
    tax_code: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class PayrollEntries(Lineage):
    payroll_entry_id: str = identifier(unique=True)
    entity_id: str = identifier()
    pay_period_start: dt.date
    pay_period_end: dt.date
    pay_date: dt.date
    employee_id: str = identifier()
    cost_center_id: str | None = optional()
    component: str = pa.Field(isin=["gross", "employee_tax", "employer_tax", "benefits", "net"])
    amount: Money = money()
    currency: str = currency()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class GlJournalLines(Lineage):
    gl_line_id: str = identifier(unique=True)
    journal_id: str = identifier()
    line_no: int = pa.Field(ge=1)
    entity_id: str = identifier()
    posting_date: dt.date
    gl_account: str = identifier()
    cost_center_id: str | None = optional()
    debit: Money = money(ge=0)
    credit: Money = money(ge=0)
    currency: str = currency()
    description: str | None = optional()
    reference: str | None = optional()
    # Functional currency (finance_pipeline.fx): the amount in the entity's functional
    # currency, with the rate and rate date used; empty when no rate was found.
    functional_amount: Money | None = money(nullable=True)
    functional_currency: str | None = functional_currency_field()
    fx_rate: Rate | None = exchange_rate(nullable=True)
    fx_rate_date: dt.date | None = optional()


class FxRates(Lineage):
    rate_date: dt.date
    base_currency: str = currency()
    quote_currency: str = currency()
    rate: Rate = pa.Field(dtype_kwargs={"precision": 18, "scale": 8}, gt=0)

    class Config:
        unique = ["rate_date", "base_currency", "quote_currency"]


class RecordDeliveries(Lineage):
    """Every delivery of a record that arrived more than once (finance_pipeline.dedupe).

    The lineage columns are the delivery's own; ``record_table``/``record_id`` name the one
    canonical record kept for all of them, in the partition of ``kept_business_date``.
    ``role`` is ``kept`` for the delivery whose values and lineage the record carries;
    ``differs`` says whether a delivery's values disagree with the kept record (null when the
    record was kept on an earlier day and not compared).
    """

    record_table: str = identifier()
    record_id: str = identifier()
    role: str = pa.Field(isin=["kept", "duplicate"])
    kept_business_date: dt.date
    differs: bool | None = optional()


CANONICAL_MODELS: dict[str, type[Lineage]] = {
    "legal_entities": LegalEntities,
    "customers": Customers,
    "vendors": Vendors,
    "gl_accounts": GlAccounts,
    "cost_centers": CostCenters,
    "tax_codes": TaxCodes,
    "bank_accounts": BankAccounts,
    "bank_transactions": BankTransactions,
    "bank_balances": BankBalances,
    "invoices": Invoices,
    "payments": Payments,
    "remittance_lines": RemittanceLines,
    "processor_transactions": ProcessorTransactions,
    "payouts": Payouts,
    "orders": Orders,
    "purchase_orders": PurchaseOrders,
    "receipts": Receipts,
    "bills": Bills,
    "payroll_entries": PayrollEntries,
    "gl_journal_lines": GlJournalLines,
    "fx_rates": FxRates,
    "record_deliveries": RecordDeliveries,
}
