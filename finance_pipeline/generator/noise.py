"""Planted problems: the mess real finance data has, each instance written to the truth.

Every planter runs on a fixed day slot (``slot % days``), so any window of one or more
business days carries every kind of problem, and with five days they are spread one per
day. A planter records what it did (``planted_noise.csv``) and, where the pipeline should
raise one, the exception it expects (``expected_exceptions.csv``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from finance_pipeline.generator import ids
from finance_pipeline.generator.dates import add_business_days, month_label
from finance_pipeline.generator.model import (
    Customer,
    ExpectedException,
    Invoice,
    NoiseRecord,
    Payment,
    Payout,
    PayrollEntry,
    PoLine,
    Ref,
    RemitRef,
    Vendor,
)
from finance_pipeline.money import quantize

if TYPE_CHECKING:
    from finance_pipeline.generator.business import Simulation

# Noise types every generated window (of one business day or more) contains at least once.
REQUIRED_NOISE_TYPES = (
    "bank_fee_deducted",
    "duplicate_invoice",
    "duplicate_payment",
    "fx_payment",
    "invalid_cost_center",
    "missing_cost_center",
    "missing_reference",
    "multi_invoice_payment",
    "partial_payment",
    "payout_delayed",
    "reference_truncated",
    "reference_typo",
    "short_pay_beyond_tolerance",
    "short_pay_within_tolerance",
    "three_way_price_variance",
    "three_way_quantity_variance",
    "unknown_customer",
    "unknown_vendor",
)
# Also planted: bank_fee_charge, missing_tax_code, outstanding_check, payout_after_window.

SHORT_PAY_WITHIN = Decimal("3.17")  # under 5.00 and under 1% of the invoice
SHORT_PAY_BEYOND_RATE = Decimal("0.925")  # pays 92.5%: beyond any tolerance
WIRE_FEE = Decimal("25.00")
PARTIAL_RATE = Decimal("0.6")
PRICE_VARIANCE = Decimal("1.06")


def record(sim: Simulation, noise_type: str, ref: Ref, detail: str) -> None:
    sim.world.noise.append(NoiseRecord(noise_type, ref, detail))


def expect(sim: Simulation, exception_type: str, ref: Ref, detail: str) -> None:
    sim.world.exceptions.append(ExpectedException(exception_type, ref, detail))


def payment_ref(payment: Payment) -> Ref:
    return Ref("payments", payment.source_system, payment.payment_id)


def invoice_ref(invoice: Invoice) -> Ref:
    return Ref("invoices", "netsuite", invoice.invoice_id)


def typo(rng: random.Random, reference: str, avoid: frozenset[str] = frozenset()) -> str:
    """A keying or OCR slip: swapped digits, O for 0, a dropped digit.

    Never one of ``avoid`` (the invoice numbers issued so far) nor a higher number of the same
    shape (one issued later), so the slip never becomes another invoice's exact number.
    """
    pairs = [i for i in range(len(reference) - 1) if reference[i : i + 2].isdigit()]
    # only transpositions that lower the number: a higher one could be issued later
    swaps = [i for i in pairs if reference[i] > reference[i + 1]]
    options: list[str] = []
    if swaps:
        i = rng.choice(swaps)
        options.append(reference[:i] + reference[i + 1] + reference[i] + reference[i + 2 :])
    if "0" in reference:
        i = rng.choice([k for k, ch in enumerate(reference) if ch == "0"])
        options.append(reference[:i] + "O" + reference[i + 1 :])
    digits = [i for i, ch in enumerate(reference) if ch.isdigit()]
    if digits:
        i = rng.choice(digits)
        options.append(reference[:i] + reference[i + 1 :])
    options = [o for o in options if o != reference and o not in avoid]
    return rng.choice(options) if options else reference + "X"


def invoice_numbers(sim: Simulation) -> frozenset[str]:
    return frozenset(i.invoice_number for i in sim.world.invoices)


def truncate(reference: str) -> str:
    """A reference cut short by a payer's field limit."""
    return reference[: max(4, len(reference) - 3)]


def ensure_pick(
    sim: Simulation,
    entity_id: str,
    channel: str,
    day: date,
    *,
    count: int = 1,
    min_amount: Decimal = Decimal(0),
) -> tuple[Customer, list[Invoice]]:
    """Open invoices to plant a problem on (older ones are backfilled if none are left)."""
    return sim.pick_or_backfill(entity_id, channel, day, count=count, min_amount=min_amount)


# ---- invoices -------------------------------------------------------------------------------


def _unknown_customer_invoice(sim: Simulation, day: date) -> None:
    template = sim.customers("US01", "ach")[0]
    customer = Customer(
        customer_id="CUST-10901",
        entity_id="US01",
        name="Quarry Ridge Outfitters LLC",
        country="US",
        currency="USD",
        erp_customer_id="4901",
        crm_account_id=ids.salesforce_id(sim.rng, "001"),
        stripe_customer_id=None,
        payer_account=template.payer_account,
        channel="ach",
        tax_code="US-EXEMPT",
        in_master=False,
    )
    sim.world.customers.append(customer)
    invoice = sim.issue_invoice(customer, day, day, with_order=False)
    invoice.reserved = True
    detail = f"customer_id {customer.customer_id} is not in the customer master"
    record(sim, "unknown_customer", invoice_ref(invoice), detail)
    expect(sim, "unknown_customer", invoice_ref(invoice), detail)


def _missing_tax_code(sim: Simulation, day: date) -> None:
    customer = sim.rng.choice(sim.customers("DE01", "sepa"))
    invoice = sim.issue_invoice(customer, day, day)
    invoice.tax_code = None
    detail = f"invoice {invoice.invoice_number} charges {invoice.tax} VAT but has no tax code"
    record(sim, "missing_tax_code", invoice_ref(invoice), detail)
    expect(sim, "missing_tax_code", invoice_ref(invoice), detail)


def _duplicate_invoice(sim: Simulation, day: date) -> None:
    candidates = sorted(
        (
            i
            for i in sim.world.invoices
            if i.entity_id == "US01" and i.export_date <= day and i.order_id is not None
        ),
        key=lambda i: i.invoice_id,
    )[:10]
    original = sim.rng.choice(candidates)
    copy = Invoice(
        invoice_id=f"INV-{sim.next_number('invoice', 500001)}",
        entity_id=original.entity_id,
        customer_id=original.customer_id,
        invoice_number=original.invoice_number,
        order_id=original.order_id,
        issue_date=original.issue_date,
        due_date=original.due_date,
        net=original.net,
        tax=original.tax,
        amount=original.amount,
        currency=original.currency,
        tax_code=original.tax_code,
        export_date=day,
        open_amount=original.amount,
        reserved=True,
    )
    sim.world.invoices.append(copy)
    detail = (
        f"invoice number {original.invoice_number} re-sent; first sent as {original.invoice_id}"
    )
    record(sim, "duplicate_invoice", invoice_ref(copy), detail)
    expect(sim, "duplicate_invoice", invoice_ref(copy), detail)


# ---- payments -------------------------------------------------------------------------------


def _lockbox_multi_invoice(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "lockbox", day, count=3)
    payment = sim.receive(day, customer, invoices)
    numbers = ", ".join(i.invoice_number for i in invoices)
    record(sim, "multi_invoice_payment", payment_ref(payment), f"one check pays {numbers}")


def _lockbox_typo(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "lockbox", day)
    remitted = typo(sim.rng, invoices[0].invoice_number, invoice_numbers(sim))
    payment = sim.receive(day, customer, invoices, remittance=[RemitRef(remitted)])
    record(
        sim,
        "reference_typo",
        payment_ref(payment),
        f"remitted {remitted!r} for {invoices[0].invoice_number}",
    )


def _ach_partial(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "ach", day, min_amount=Decimal(1000))
    invoice = invoices[0]
    part = quantize(invoice.amount * PARTIAL_RATE, invoice.currency)
    payment = sim.receive(day, customer, invoices, amounts=[part])
    record(
        sim,
        "partial_payment",
        payment_ref(payment),
        f"pays {part} of {invoice.invoice_number} ({invoice.amount}); remittance states {part}",
    )


def _wire_fee_deducted(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "wire", day, min_amount=Decimal(5000))
    payment = sim.receive(day, customer, invoices, fee=WIRE_FEE)
    record(
        sim,
        "bank_fee_deducted",
        payment_ref(payment),
        f"invoice {invoices[0].invoice_number} {invoices[0].amount}, received {payment.amount} "
        f"after a {WIRE_FEE} intermediary fee",
    )


def _fps_truncated(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "GB01", "fps", day)
    remitted = truncate(invoices[0].invoice_number)
    payment = sim.receive(day, customer, invoices, remittance=[RemitRef(remitted)])
    record(
        sim,
        "reference_truncated",
        payment_ref(payment),
        f"remitted {remitted!r} for {invoices[0].invoice_number}",
    )


def _lockbox_short_within(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "lockbox", day, min_amount=Decimal(600))
    invoice = invoices[0]
    received = invoice.amount - SHORT_PAY_WITHIN
    payment = sim.receive(day, customer, invoices, received=received)
    record(
        sim,
        "short_pay_within_tolerance",
        payment_ref(payment),
        f"check {received} for {invoice.invoice_number} {invoice.amount}: short {SHORT_PAY_WITHIN}",
    )


def _camt_fx(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "DE01", "wire_usd", day)
    invoice = invoices[0]
    rate = sim.world.fx_rate(day, "USD", "EUR")
    received = quantize(invoice.amount * rate, "EUR")
    payment = sim.receive(
        day,
        customer,
        invoices,
        received=received,
        fx=(invoice.amount, "USD", rate),
    )
    record(
        sim,
        "fx_payment",
        payment_ref(payment),
        f"USD invoice {invoice.invoice_number} {invoice.amount} paid as EUR {received} "
        f"at {rate} into the EUR account",
    )


def _camt_typo(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "DE01", "sepa", day)
    remitted = typo(sim.rng, invoices[0].invoice_number, invoice_numbers(sim))
    payment = sim.receive(day, customer, invoices, remittance=[RemitRef(f"Rechnung {remitted}")])
    record(
        sim,
        "reference_typo",
        payment_ref(payment),
        f"remitted {remitted!r} for {invoices[0].invoice_number}",
    )


def _camt_unknown_payer(sim: Simulation, day: date) -> None:
    account = ids.iban("AT", ids.digits(sim.rng, 16))
    payment = sim.receive(
        day,
        None,
        [],
        channel="sepa",
        entity_id="DE01",
        received=sim.amount(800, 6000),
        payer_name="Alpenblick Vertriebs GmbH",
        payer_account=account,
        remittance=[RemitRef(f"Rechnung {ids.digits(sim.rng, 4)} vom {day:%d.%m.}")],
        gl_posted=False,
        in_cash_application=False,
    )
    detail = f"payer Alpenblick Vertriebs GmbH {account} is in no customer master"
    record(sim, "unknown_customer", payment_ref(payment), detail)
    expect(sim, "unknown_customer", payment_ref(payment), detail)


def _camt_short_beyond(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "DE01", "sepa", day, min_amount=Decimal(2000))
    invoice = invoices[0]
    received = quantize(invoice.amount * SHORT_PAY_BEYOND_RATE, invoice.currency)
    payment = sim.receive(
        day,
        customer,
        invoices,
        received=received,
        remittance=[RemitRef(ids.rf_reference(invoice.invoice_number), structured=True)],
    )
    detail = f"paid {received} for {invoice.invoice_number} {invoice.amount}"
    record(sim, "short_pay_beyond_tolerance", payment_ref(payment), detail)
    expect(sim, "amount_variance", payment_ref(payment), detail)


def _wire_multi_invoice(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "wire", day, count=2)
    payment = sim.receive(day, customer, invoices)
    numbers = ", ".join(i.invoice_number for i in invoices)
    record(sim, "multi_invoice_payment", payment_ref(payment), f"one wire pays {numbers}")


def _fps_duplicate(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "GB01", "fps", day)
    first_day = sim.world.days[max(0, sim.index - 2)]
    original = sim.receive(first_day, customer, invoices)
    duplicate = sim.receive(
        day,
        customer,
        [],
        received=original.amount,
        remittance=list(original.remittance),
        gl_posted=False,
        in_cash_application=False,
    )
    detail = f"same payer, amount {original.amount} and reference as {original.payment_id}"
    record(sim, "duplicate_payment", payment_ref(duplicate), detail)
    expect(sim, "duplicate_payment", payment_ref(duplicate), detail)


def _ach_missing_reference(sim: Simulation, day: date) -> None:
    customer, invoices = ensure_pick(sim, "US01", "ach", day)
    payment = sim.receive(day, customer, invoices, remittance=[], gl_posted=False)
    detail = f"no remittance at all; pays {invoices[0].invoice_number} {invoices[0].amount}"
    record(sim, "missing_reference", payment_ref(payment), detail)
    expect(sim, "missing_reference", payment_ref(payment), detail)


# ---- bank and procurement -------------------------------------------------------------------


def _bank_fee_charge(sim: Simulation, day: date) -> None:
    line = sim.bank_fee(day, "US01", Decimal("187.45"), f"ACCOUNT ANALYSIS FEE {month_label(day)}")
    record(
        sim,
        "bank_fee_charge",
        Ref("bank_transactions", line.source_system, line.bank_ref),
        "analysis fee charged by the bank, not booked in the GL",
    )


def _unknown_vendor_bill(sim: Simulation, day: date) -> None:
    vendor = Vendor(
        vendor_id="VEND-29001",
        entity_id="US01",
        name="Brightline Facility Services LLC",
        country="US",
        currency="USD",
        erp_vendor_id="7901",
        payee_account=sim.vendors("US01")[0].payee_account,
        pay_method="ach",
        bill_prefix="BF",
        in_master=False,
    )
    sim.world.vendors.append(vendor)
    line = sim.service_bill(day, vendor)
    ref = Ref("bills", "netsuite", line.bill_line_id)
    detail = f"vendor_id {vendor.vendor_id} is not in the vendor master"
    record(sim, "unknown_vendor", ref, detail)
    expect(sim, "unknown_vendor", ref, detail)


Planter = Callable[["Simulation", date], None]

# (phase, slot, planter): slot modulo the number of days picks the day.
PLANTERS: tuple[tuple[str, int, Planter], ...] = (
    ("invoices", 0, _unknown_customer_invoice),
    ("invoices", 0, _missing_tax_code),
    ("invoices", 1, _duplicate_invoice),
    ("payments", 0, _lockbox_multi_invoice),
    ("payments", 0, _lockbox_typo),
    ("payments", 1, _ach_partial),
    ("payments", 1, _wire_fee_deducted),
    ("payments", 1, _fps_truncated),
    ("payments", 2, _lockbox_short_within),
    ("payments", 2, _camt_fx),
    ("payments", 2, _camt_typo),
    ("payments", 2, _camt_unknown_payer),
    ("payments", 3, _camt_short_beyond),
    ("payments", 3, _wire_multi_invoice),
    ("payments", 3, _fps_duplicate),
    ("payments", 4, _ach_missing_reference),
    ("bank", 2, _bank_fee_charge),
    ("procurement", 1, _unknown_vendor_bill),
)


def plant(sim: Simulation, phase: str, day: date) -> None:
    """Run the planters of ``phase`` whose slot falls on today."""
    for planter_phase, slot, planter in PLANTERS:
        if planter_phase == phase and slot % len(sim.world.days) == sim.index:
            planter(sim, day)


# ---- hooks called from the simulation -------------------------------------------------------


def on_payout(sim: Simulation, payout: Payout) -> None:
    """The first payout reaches the bank a business day after Stripe's arrival date."""
    if payout.created_date != sim.world.days[0]:
        return
    payout.bank_date = add_business_days(payout.arrival_date, 1)
    record(
        sim,
        "payout_delayed",
        Ref("payouts", "stripe", payout.id),
        f"arrival_date {payout.arrival_date.isoformat()}, booked by the bank on "
        f"{payout.bank_date.isoformat()}",
    )


def on_purchase_order(
    sim: Simulation,
    lines: list[PoLine],
    quantities: dict[str, Decimal],
    prices: dict[str, Decimal],
    backlog: bool,
) -> None:
    """The first backlog PO of US01 is billed above its price; DE01's is received short."""
    if not backlog:
        return
    entity_id = lines[0].entity_id
    kinds = {kind for kind, _ in sim.planted_variances.values()}
    line = lines[0]
    if entity_id == "US01" and "three_way_price_variance" not in kinds:
        billed = quantize(line.unit_price * PRICE_VARIANCE, line.currency)
        prices[line.po_line_id] = billed
        sim.planted_variances[line.po_line_id] = (
            "three_way_price_variance",
            f"PO {line.po_number} line {line.line_no} at {line.unit_price}, billed at {billed}",
        )
    elif entity_id == "DE01" and "three_way_quantity_variance" not in kinds:
        received = line.quantity - 1 if line.quantity >= 2 else line.quantity / 2
        quantities[line.po_line_id] = received
        sim.planted_variances[line.po_line_id] = (
            "three_way_quantity_variance",
            f"PO {line.po_number} line {line.line_no}: ordered and billed {line.quantity}, "
            f"received {received}",
        )


def on_payroll(sim: Simulation, entity_id: str, entries: list[PayrollEntry]) -> None:
    """One US01 employee exported without a cost centre, one DE01 employee with a bad one."""
    if entity_id not in ("US01", "DE01"):
        return
    employees = sorted({e.employee_id for e in entries})
    employee = sim.rng.choice(employees)
    broken = None if entity_id == "US01" else "DE999"
    noise_type = "missing_cost_center" if broken is None else "invalid_cost_center"
    for entry in entries:
        if entry.employee_id != employee:
            continue
        entry.cost_center_id = broken
        ref = Ref("payroll_entries", "workday", entry.payroll_entry_id)
        detail = (
            f"employee {employee} {entry.component}: cost centre "
            f"{'missing' if broken is None else broken}; ledger posts it to "
            f"{entry.true_cost_center_id}"
        )
        record(sim, noise_type, ref, detail)
        expect(sim, "invalid_cost_center", ref, detail)


def outstanding_check(sim: Simulation, gl_line_id: str, check_number: str, clears: date) -> None:
    record(
        sim,
        "outstanding_check",
        Ref("gl_journal_lines", "netsuite", gl_line_id),
        f"check {check_number} issued, presented {clears.isoformat()} after the window",
    )


def after_run(sim: Simulation) -> None:
    """Record what only the whole window shows: variances billed, payouts still in transit."""
    world = sim.world
    for bill in world.bill_lines:
        if bill.po_line_id in sim.planted_variances:
            noise_type, detail = sim.planted_variances[bill.po_line_id]
            ref = Ref("bills", "netsuite", bill.bill_line_id)
            record(sim, noise_type, ref, detail)
            expect(sim, "three_way_variance", ref, detail)
    for payout in world.payouts:
        if payout.bank_date > world.window_end:
            ref = Ref("payouts", "stripe", payout.id)
            detail = (
                f"created {payout.created_date.isoformat()}, reaches the bank "
                f"{payout.bank_date.isoformat()} after the window ending "
                f"{world.window_end.isoformat()}"
            )
            record(sim, "payout_after_window", ref, detail)
            expect(sim, "settlement_timing", ref, detail)
