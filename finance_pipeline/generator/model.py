"""Plain dataclasses of the simulated business: master data, transactions and truth.

The simulation fills a ``World``; writers only read it. Keeping the truth next to the
records it describes is what lets the tests prove every planted problem is findable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True, order=True)
class Ref:
    """A record as the truth names it: canonical table, source system and source id."""

    record_type: str
    source_system: str
    source_id: str


@dataclass(frozen=True)
class Entity:
    entity_id: str
    name: str
    country: str
    currency: str


@dataclass(frozen=True)
class GlAccount:
    entity_id: str
    code: str
    name: str
    account_type: str
    currency: str | None


@dataclass(frozen=True)
class CostCenter:
    entity_id: str
    cost_center_id: str
    name: str


@dataclass(frozen=True)
class TaxCode:
    entity_id: str
    tax_code: str
    rate: Decimal
    description: str


@dataclass(frozen=True)
class BankAccount:
    bank_account_id: str
    entity_id: str
    bank_name: str
    account_number: str
    currency: str
    gl_account: str
    bic: str
    file_format: str  # bai2 | camt | mt940
    opening_balance: Decimal


@dataclass
class Customer:
    customer_id: str
    entity_id: str
    name: str
    country: str
    currency: str
    erp_customer_id: str
    crm_account_id: str
    stripe_customer_id: str | None
    payer_account: str
    channel: str  # lockbox | ach | wire | card | sepa | fps
    tax_code: str
    routing: str | None = None  # US payers: MICR routing and account of their checks
    account: str | None = None
    in_master: bool = True


@dataclass
class Vendor:
    vendor_id: str
    entity_id: str
    name: str
    country: str
    currency: str
    erp_vendor_id: str
    payee_account: str
    pay_method: str  # ach | check | wire | sepa | fps
    bill_prefix: str
    in_master: bool = True


@dataclass(frozen=True)
class Employee:
    employee_id: str
    entity_id: str
    cost_center_id: str
    annual_salary: Decimal


@dataclass
class Order:
    order_id: str
    entity_id: str
    customer_id: str
    order_number: str
    order_date: date
    amount: Decimal
    currency: str
    status: str
    crm_opportunity_id: str
    export_date: date


@dataclass
class Invoice:
    invoice_id: str
    entity_id: str
    customer_id: str
    invoice_number: str
    order_id: str | None
    issue_date: date
    due_date: date
    net: Decimal
    tax: Decimal
    amount: Decimal
    currency: str
    tax_code: str | None
    export_date: date
    open_amount: Decimal  # as of the export
    status: str = "open"
    applied: Decimal = ZERO  # what the simulated payments apply (truth, not exported)
    reserved: bool = False  # taken by a payment or a planted problem


@dataclass(frozen=True)
class RemitRef:
    """A reference exactly as the payer remitted it (possibly mangled by planted noise)."""

    reference: str
    amount: Decimal | None = None
    structured: bool = False  # camt Strd/CdtrRefInf (RF creditor reference)


@dataclass(frozen=True)
class Application:
    invoice_id: str
    amount: Decimal  # in the invoice currency


@dataclass
class Payment:
    """Incoming customer money: a lockbox check, a bank credit or a card charge."""

    payment_id: str  # source id: bank reference, lockbox item id or Stripe charge id
    source_system: str  # bai2 | camt | mt940 | lockbox | stripe
    entity_id: str
    channel: str
    received_date: date
    amount: Decimal
    currency: str
    payer_name: str
    payer_account: str | None
    customer_id: str | None
    applications: list[Application] = field(default_factory=list)
    remittance: list[RemitRef] = field(default_factory=list)
    end_to_end_id: str | None = None
    check_number: str | None = None
    check_date: date | None = None
    routing: str | None = None
    account: str | None = None
    bank_account_id: str | None = None
    instructed_amount: Decimal | None = None  # FX: what the payer sent, in its currency
    instructed_currency: str | None = None
    fx_rate: Decimal | None = None
    fee_deducted: Decimal = ZERO
    gl_posted: bool = True
    in_cash_application: bool = True
    lockbox_batch: int = 0
    lockbox_item: int = 0


@dataclass
class BankLine:
    """One booked line on a bank statement (signed: credit > 0)."""

    source_system: str  # bai2 | camt | mt940
    bank_account_id: str
    booking_date: date
    value_date: date
    amount: Decimal
    currency: str
    kind: str
    bank_ref: str
    customer_ref: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    end_to_end_id: str | None = None
    remittance: list[RemitRef] = field(default_factory=list)
    text: str = ""
    check_number: str | None = None
    payment_id: str | None = None
    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    fx_rate: Decimal | None = None
    gl_line_ids: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # format-specific tokens (trace no.)


@dataclass
class JournalLine:
    gl_line_id: str
    journal_id: str
    line_no: int
    entity_id: str
    posting_date: date
    gl_account: str
    cost_center_id: str | None
    debit: Decimal
    credit: Decimal
    currency: str
    description: str
    reference: str | None


@dataclass
class Journal:
    journal_id: str
    entity_id: str
    posting_date: date
    currency: str
    lines: list[JournalLine] = field(default_factory=list)


@dataclass
class BalanceTxn:
    """A Stripe balance transaction (amounts in integer minor units, as Stripe sends them)."""

    id: str
    type: str  # charge | refund | stripe_fee | payout
    amount: int
    fee: int
    net: int
    currency: str
    created: int
    available_on: int
    source: str | None
    description: str
    reporting_category: str
    status: str
    payout_id: str | None = None


@dataclass
class Charge:
    id: str
    amount: int
    currency: str
    created: int
    customer: str
    customer_id: str
    invoice_number: str
    invoice_id: str
    payment_intent: str
    payment_method: str
    balance_transaction: str
    card_brand: str
    card_last4: str
    billing_name: str
    created_date: date


@dataclass
class Refund:
    id: str
    charge_id: str
    amount: int
    currency: str
    created: int
    balance_transaction: str
    payment_intent: str
    invoice_number: str
    created_date: date


@dataclass
class Payout:
    id: str
    amount: int
    currency: str
    created: int
    created_date: date
    arrival_date: date  # what Stripe announces
    bank_date: date  # when the bank actually books it
    balance_transaction: str
    destination: str
    statement_descriptor: str
    txn_ids: list[str] = field(default_factory=list)


@dataclass
class PoLine:
    po_line_id: str
    po_number: str
    line_no: int
    entity_id: str
    vendor_id: str
    order_date: date
    item: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    currency: str
    cost_center_id: str
    export_date: date


@dataclass
class ReceiptLine:
    receipt_line_id: str
    receipt_number: str
    po_number: str
    po_line_no: int
    entity_id: str
    received_date: date
    quantity: Decimal
    po_line_id: str


@dataclass
class BillLine:
    bill_line_id: str
    bill_number: str
    line_no: int
    entity_id: str
    vendor_id: str
    po_number: str | None
    po_line_no: int | None
    bill_date: date
    due_date: date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    currency: str
    tax_code: str | None
    po_line_id: str | None = None


@dataclass
class PayrollEntry:
    payroll_entry_id: str
    entity_id: str
    pay_period_start: date
    pay_period_end: date
    pay_date: date
    employee_id: str
    cost_center_id: str | None  # as exported (planted noise may break it)
    true_cost_center_id: str  # where the ledger posts it
    component: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class FxRate:
    rate_date: date
    base_currency: str
    quote_currency: str
    rate: Decimal


@dataclass(frozen=True)
class NoiseRecord:
    noise_type: str
    ref: Ref
    detail: str


@dataclass(frozen=True)
class ExpectedException:
    exception_type: str
    ref: Ref
    detail: str


@dataclass
class MatchGroup:
    workflow: str
    group_id: str
    left: list[Ref]
    right: list[Ref]


@dataclass
class World:
    """Everything the simulation produced; writers and the truth read only this."""

    start: date
    days: list[date]
    seed: int
    entities: list[Entity] = field(default_factory=list)
    gl_accounts: list[GlAccount] = field(default_factory=list)
    cost_centers: list[CostCenter] = field(default_factory=list)
    tax_codes: list[TaxCode] = field(default_factory=list)
    bank_accounts: list[BankAccount] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    bank_lines: list[BankLine] = field(default_factory=list)
    journals: list[Journal] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    balance_txns: list[BalanceTxn] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    po_lines: list[PoLine] = field(default_factory=list)
    receipt_lines: list[ReceiptLine] = field(default_factory=list)
    bill_lines: list[BillLine] = field(default_factory=list)
    payroll_entries: list[PayrollEntry] = field(default_factory=list)
    fx_rates: list[FxRate] = field(default_factory=list)
    noise: list[NoiseRecord] = field(default_factory=list)
    exceptions: list[ExpectedException] = field(default_factory=list)
    lockbox_number: str = "0071234"

    @property
    def window_end(self) -> date:
        return self.days[-1]

    def bank_account(self, bank_account_id: str) -> BankAccount:
        return next(b for b in self.bank_accounts if b.bank_account_id == bank_account_id)

    def entity(self, entity_id: str) -> Entity:
        return next(e for e in self.entities if e.entity_id == entity_id)

    def invoice(self, invoice_id: str) -> Invoice:
        return next(i for i in self.invoices if i.invoice_id == invoice_id)

    def customer(self, customer_id: str) -> Customer:
        return next(c for c in self.customers if c.customer_id == customer_id)

    def journal_lines(self) -> list[JournalLine]:
        return [line for journal in self.journals for line in journal.lines]

    def statement_lines(self, bank_account_id: str, day: date) -> list[BankLine]:
        """Lines booked on ``day``, in statement order: credits first, then by reference."""
        lines = [
            b
            for b in self.bank_lines
            if b.bank_account_id == bank_account_id and b.booking_date == day
        ]
        return sorted(lines, key=lambda b: (b.amount < 0, b.bank_ref))

    def opening_balance(self, bank_account_id: str, day: date) -> Decimal:
        """Ledger balance at the start of ``day``: the account's opening plus earlier lines."""
        account = self.bank_account(bank_account_id)
        earlier = (
            b.amount
            for b in self.bank_lines
            if b.bank_account_id == bank_account_id and b.booking_date < day
        )
        return account.opening_balance + sum(earlier, ZERO)

    def fx_rate(self, day: date, base: str, quote: str) -> Decimal:
        return next(
            r.rate
            for r in self.fx_rates
            if r.rate_date == day and r.base_currency == base and r.quote_currency == quote
        )
