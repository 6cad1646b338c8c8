"""The simulated group, one business day at a time.

``Simulation.run`` fills a ``World`` with orders, invoices, incoming payments (lockbox,
ACH, wire, SEPA, Faster Payments, card), Stripe balance activity and payouts, procurement
(PO, receipt, bill), vendor payments, payroll and the GL journals that post them. Planted
problems come from ``noise``, which this module calls at fixed points of each day.

Determinism: one ``random.Random(seed)``, fixed iteration orders, no clock, no ``hash()``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finance_pipeline.generator import ids, noise
from finance_pipeline.generator.dates import (
    add_business_days,
    business_days,
    epoch_seconds,
    month_label,
)
from finance_pipeline.generator.master import PURCHASE_TAX, build_master, cost_center_ids
from finance_pipeline.generator.model import (
    ZERO,
    Application,
    BalanceTxn,
    BankLine,
    BillLine,
    Charge,
    Customer,
    FxRate,
    Invoice,
    Journal,
    JournalLine,
    Order,
    Payment,
    Payout,
    PayrollEntry,
    PoLine,
    ReceiptLine,
    Refund,
    RemitRef,
    Vendor,
    World,
)
from finance_pipeline.money import quantize, to_minor

LOCKBOX_BATCH_SIZE = 4
PAYOUT_DELAY_DAYS = 2  # Stripe: a day's balance reaches the bank two business days later
STRIPE_DESTINATION = "ba_1NwQx2FNBKUS33Northwind"

# (item, unit price, expense account) bought on purchase orders
_CATALOG = (
    ("Developer laptop 14in", "1450.00", "6200"),
    ("27in monitor", "329.00", "6200"),
    ("Ergonomic office chair", "289.00", "6200"),
    ("Cloud compute credits block", "5000.00", "6100"),
    ("Consulting hours", "175.00", "6300"),
    ("Network switch 48-port", "2190.00", "6200"),
    ("Packaging materials pallet", "412.50", "5000"),
    ("Warehouse shelving unit", "640.00", "5000"),
)
# non-PO bills: (description, low, high, expense account)
_SERVICES = (
    ("Office rent", 4000, 12000, "6200"),
    ("Legal services", 1500, 9000, "6300"),
    ("Electricity", 600, 2400, "6200"),
    ("SaaS subscription", 300, 4000, "6100"),
)
# payroll: employee tax rate, employer tax rate, monthly benefits deduction
_PAYROLL_RATES = {
    "US01": (Decimal("0.22"), Decimal("0.0765"), Decimal("420.00")),
    "DE01": (Decimal("0.31"), Decimal("0.205"), Decimal("95.00")),
    "GB01": (Decimal("0.24"), Decimal("0.138"), Decimal("150.00")),
}
_INVOICE_PREFIX = {"US01": "US-INV-", "GB01": "GB-INV-"}
_PAYMENT_TERMS = {"US01": 30, "DE01": 14, "GB01": 30}
_BANK_SYSTEM = {"US01": "bai2", "DE01": "camt", "GB01": "mt940"}
_OPERATING = {"US01": "US01-OPER", "DE01": "DE01-EUR-OPER", "GB01": "GB01-GBP-OPER"}


def cents(value: int) -> Decimal:
    """Integer cents to an exact two-decimal Decimal."""
    return Decimal(value).scaleb(-2)


class Simulation:
    """Runs the business over the requested business days and keeps the truth as it goes."""

    def __init__(self, start: date, days: int, seed: int) -> None:
        if days < 1:
            raise ValueError("days must be at least 1")
        self.rng = random.Random(seed)
        self.world = World(start=start, days=business_days(start, days), seed=seed)
        self.index = 0
        self._counters: dict[str, int] = {}
        self._lockbox_gl: dict[str, str] = {}  # lockbox item id -> GL cash line id
        # PO line id -> (noise type, detail) of a planted three-way variance
        self.planted_variances: dict[str, tuple[str, str]] = {}
        build_master(self.rng, self.world)

    # ---- small helpers -------------------------------------------------------------------

    def next_number(self, key: str, first: int) -> int:
        value = self._counters.get(key, first - 1) + 1
        self._counters[key] = value
        return value

    def amount(self, low: int, high: int) -> Decimal:
        """A random amount in major units between ``low`` and ``high`` (exact cents)."""
        return cents(self.rng.randint(low * 100, high * 100))

    def invoice_amount(self) -> Decimal:
        low, high = self.rng.choice([(500, 2500), (500, 2500), (2500, 12000), (12000, 40000)])
        return self.amount(low, high)

    def bank_ref(self, system: str, day: date) -> str:
        n = self.next_number(f"ref-{system}-{day.isoformat()}", 1)
        if system == "bai2":
            return f"FN{day:%y%m%d}{n:05d}"
        if system == "camt":
            return f"EB{day:%y%m%d}{n:06d}"
        return f"GLB{day:%y%m%d}{n:05d}"

    def post(
        self,
        entity_id: str,
        day: date,
        lines: list[tuple[str, str | None, Decimal, Decimal, str, str | None]],
    ) -> Journal:
        """Post a balanced GL journal: lines of (account, cost centre, debit, credit, text, ref)."""
        debit = sum((line[2] for line in lines), ZERO)
        credit = sum((line[3] for line in lines), ZERO)
        if debit != credit:
            raise AssertionError(f"unbalanced journal {debit} != {credit}")
        currency = self.world.entity(entity_id).currency
        journal_id = f"JE-{entity_id}-{self.next_number(f'je-{entity_id}', 100001)}"
        journal = Journal(journal_id, entity_id, day, currency)
        for no, (account, center, dr, cr, text, ref) in enumerate(lines, start=1):
            journal.lines.append(
                JournalLine(
                    f"{journal_id}-{no:02d}",
                    journal_id,
                    no,
                    entity_id,
                    day,
                    account,
                    center,
                    dr,
                    cr,
                    currency,
                    text,
                    ref,
                )
            )
        self.world.journals.append(journal)
        return journal

    def customers(self, entity_id: str, channel: str) -> list[Customer]:
        return [
            c
            for c in self.world.customers
            if c.entity_id == entity_id and c.channel == channel and c.in_master
        ]

    def vendors(self, entity_id: str) -> list[Vendor]:
        return [v for v in self.world.vendors if v.entity_id == entity_id and v.in_master]

    def open_by_customer(
        self, entity_id: str, channel: str, day: date, min_age: int
    ) -> dict[str, list[Invoice]]:
        """Unreserved invoices at least ``min_age`` days old, oldest first, per customer."""
        payers = {c.customer_id for c in self.customers(entity_id, channel)}
        cutoff = day - timedelta(days=min_age)
        result: dict[str, list[Invoice]] = {}
        for inv in sorted(self.world.invoices, key=lambda i: (i.issue_date, i.invoice_id)):
            if inv.reserved or inv.customer_id not in payers or inv.issue_date > cutoff:
                continue
            result.setdefault(inv.customer_id, []).append(inv)
        return result

    def pick_invoices(
        self,
        entity_id: str,
        channel: str,
        day: date,
        *,
        count: int = 1,
        min_age: int = 5,
        min_amount: Decimal = ZERO,
    ) -> tuple[Customer, list[Invoice]] | None:
        """A customer of ``channel`` and ``count`` of its open invoices (oldest first)."""
        grouped = self.open_by_customer(entity_id, channel, day, min_age)
        eligible = sorted(
            cid
            for cid, invs in grouped.items()
            if len([i for i in invs if i.amount >= min_amount]) >= count
        )
        if not eligible:
            return None
        customer_id = self.rng.choice(eligible)
        invoices = [i for i in grouped[customer_id] if i.amount >= min_amount][:count]
        return self.world.customer(customer_id), invoices

    def pick_or_backfill(
        self,
        entity_id: str,
        channel: str,
        day: date,
        *,
        count: int = 1,
        min_age: int = 5,
        min_amount: Decimal = ZERO,
    ) -> tuple[Customer, list[Invoice]]:
        """Like ``pick_invoices``, but when no open invoice qualifies, one of the channel's
        customers gets older invoices (in the first day's export) so the payment can happen:
        every day keeps its lockbox file and its payments, however long the window."""
        picked = self.pick_invoices(
            entity_id, channel, day, count=count, min_age=min_age, min_amount=min_amount
        )
        if picked is not None:
            return picked
        customer = self.rng.choice(self.customers(entity_id, channel))
        first = self.world.days[0]
        for _ in range(count):
            issue = add_business_days(first, -self.rng.randint(8, 18))
            self.issue_invoice(customer, issue, first, net=min_amount + self.amount(500, 4000))
        picked = self.pick_invoices(
            entity_id, channel, day, count=count, min_age=min_age, min_amount=min_amount
        )
        assert picked is not None
        return picked

    # ---- the run ---------------------------------------------------------------------------

    def run(self) -> World:
        self._fx_rates()
        self._backlog()
        for index, day in enumerate(self.world.days):
            self.index = index
            self._business_day(day)
        noise.after_run(self)
        return self.world

    def _business_day(self, day: date) -> None:
        self._payouts_arriving(day)
        self._new_invoices(day)
        noise.plant(self, "invoices", day)
        noise.plant(self, "payments", day)
        self._customer_payments(day)
        self._stripe_day(day)
        self._lockbox_deposit(day)
        self._vendor_payments(day)
        noise.plant(self, "bank", day)
        self._procurement(day)
        noise.plant(self, "procurement", day)
        if day == self.world.window_end:
            self._payroll(day)

    # ---- FX ---------------------------------------------------------------------------------

    def _fx_rates(self) -> None:
        usd_eur = 918_000  # micro-units: 0.918000 EUR per USD
        usd_gbp = 793_000
        for day in self.world.days:
            usd_eur += self.rng.randint(-4000, 4000)
            usd_gbp += self.rng.randint(-3500, 3500)
            eur = Decimal(usd_eur).scaleb(-6)
            gbp = Decimal(usd_gbp).scaleb(-6)
            cross = (gbp / eur).quantize(Decimal("0.00000001"))
            self.world.fx_rates.extend(
                [
                    FxRate(day, "USD", "EUR", eur),
                    FxRate(day, "USD", "GBP", gbp),
                    FxRate(day, "EUR", "GBP", cross),
                ]
            )

    # ---- orders and invoices ----------------------------------------------------------------

    def issue_invoice(
        self,
        customer: Customer,
        issue_date: date,
        export_date: date,
        *,
        net: Decimal | None = None,
        with_order: bool = True,
    ) -> Invoice:
        """Book a closed-won order and its invoice (the invoice references the order)."""
        entity_id = customer.entity_id
        if net is None:
            net = self.amount(49, 1999) if customer.channel == "card" else self.invoice_amount()
        rate = next(
            t.rate
            for t in self.world.tax_codes
            if t.entity_id == entity_id and t.tax_code == customer.tax_code
        )
        tax = quantize(net * rate, customer.currency)
        order_id = None
        if with_order:
            order_date = issue_date
            if issue_date < self.world.days[0]:
                order_date = issue_date - timedelta(days=self.rng.randint(0, 3))
            order_id = ids.salesforce_id(self.rng, "801")
            self.world.orders.append(
                Order(
                    order_id=order_id,
                    entity_id=entity_id,
                    customer_id=customer.customer_id,
                    order_number=f"{self.next_number('order', 71001):08d}",
                    order_date=order_date,
                    amount=net,
                    currency=customer.currency,
                    status="closed_won",
                    crm_opportunity_id=ids.salesforce_id(self.rng, "006"),
                    export_date=export_date,
                )
            )
        seq = self.next_number(f"invno-{entity_id}", 10001 if entity_id == "US01" else 1)
        if entity_id == "DE01":
            number = f"RE-{issue_date.year}-{seq:05d}"
        else:
            number = f"{_INVOICE_PREFIX[entity_id]}{seq:05d}"
        invoice = Invoice(
            invoice_id=f"INV-{self.next_number('invoice', 500001)}",
            entity_id=entity_id,
            customer_id=customer.customer_id,
            invoice_number=number,
            order_id=order_id,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=_PAYMENT_TERMS[entity_id]),
            net=net,
            tax=tax,
            amount=net + tax,
            currency=customer.currency,
            tax_code=customer.tax_code,
            export_date=export_date,
            open_amount=net + tax,
        )
        self.world.invoices.append(invoice)
        if issue_date >= self.world.days[0]:
            self.post(
                entity_id,
                issue_date,
                [
                    ("1200", None, invoice.amount, ZERO, f"Invoice {number}", number),
                    ("4000", None, ZERO, net, f"Revenue {number}", number),
                ]
                + ([("2300", None, ZERO, tax, f"Tax {number}", number)] if tax else []),
            )
        return invoice

    def _backlog(self) -> None:
        """Open invoices of the previous 30 days, and recent POs, in the first day's export."""
        first = self.world.days[0]
        per_day = {"US01": (4, 1), "DE01": (2, 0), "GB01": (2, 0)}  # (non-card, card)
        day = first - timedelta(days=30)
        while day < first:
            if day.weekday() < 5:
                for entity_id in ("US01", "DE01", "GB01"):
                    regular, card = per_day[entity_id]
                    pool = [
                        c
                        for c in self.world.customers
                        if c.entity_id == entity_id and c.channel != "card"
                    ]
                    for _ in range(regular):
                        self.issue_invoice(self.rng.choice(pool), day, first)
                    for _ in range(card):
                        self.issue_invoice(
                            self.rng.choice(self.customers(entity_id, "card")), day, first
                        )
            day += timedelta(days=1)
        for entity_id in ("DE01", "GB01", "US01"):
            for _ in range(3):
                self.purchase_order(
                    entity_id,
                    add_business_days(first, -self.rng.randint(3, 10)),
                    first,
                    backlog=True,
                )

    def _new_invoices(self, day: date) -> None:
        plan = (("US01", 6, 3), ("DE01", 4, 0), ("GB01", 3, 0))
        for entity_id, regular, card in plan:
            pool = [
                c
                for c in self.world.customers
                if c.entity_id == entity_id and c.channel != "card" and c.in_master
            ]
            for _ in range(regular):
                self.issue_invoice(self.rng.choice(pool), day, day)
            for _ in range(card):
                self.issue_invoice(self.rng.choice(self.customers(entity_id, "card")), day, day)

    # ---- incoming payments ------------------------------------------------------------------

    def default_remittance(
        self, channel: str, invoices: list[Invoice], amounts: list[Decimal]
    ) -> list[RemitRef]:
        if channel == "ach":
            return [RemitRef(i.invoice_number, a) for i, a in zip(invoices, amounts, strict=True)]
        if channel == "sepa" and len(invoices) == 1:
            invoice = invoices[0]
            if self.rng.randint(0, 1):
                return [RemitRef(ids.rf_reference(invoice.invoice_number), structured=True)]
            # German payers word the purpose line in their own ways around the number
            template = self.rng.choice(
                ("{n}", "Rechnung {n}", "RG {n} vom {d:%d.%m.%Y}", "{n} Kd-Nr {c}")
            )
            text = template.format(
                n=invoice.invoice_number, d=invoice.issue_date, c=invoice.customer_id[5:]
            )
            return [RemitRef(text)]
        return [RemitRef(i.invoice_number) for i in invoices]

    def receive(
        self,
        day: date,
        customer: Customer | None,
        invoices: list[Invoice],
        *,
        amounts: list[Decimal] | None = None,
        received: Decimal | None = None,
        remittance: list[RemitRef] | None = None,
        channel: str | None = None,
        entity_id: str | None = None,
        payer_name: str | None = None,
        payer_account: str | None = None,
        fee: Decimal = ZERO,
        gl_posted: bool = True,
        in_cash_application: bool = True,
        fx: tuple[Decimal, str, Decimal] | None = None,
    ) -> Payment:
        """Money in from a customer (or an unknown payer): payment, bank line and GL receipt.

        ``amounts`` is what the payer means to settle per invoice (invoice currency);
        ``received`` what actually lands (after a deducted fee, a short pay, an FX conversion);
        ``fx`` is (instructed amount, instructed currency, rate) when the payer sent another
        currency than the account's.
        """
        channel = channel or (customer.channel if customer else "sepa")
        entity_id = entity_id or (customer.entity_id if customer else "DE01")
        amounts = amounts if amounts is not None else [i.amount for i in invoices]
        if received is None:
            received = sum(amounts, ZERO) - fee
        if remittance is None:
            remittance = self.default_remittance(channel, invoices, amounts)
        for inv, amt in zip(invoices, amounts, strict=True):
            inv.applied += amt
            inv.reserved = True
        name = payer_name or (customer.name if customer else "")
        account = payer_account or (customer.payer_account if customer else None)
        applications = [
            Application(i.invoice_id, a) for i, a in zip(invoices, amounts, strict=True)
        ]
        currency = self.world.entity(entity_id).currency
        common: dict[str, Any] = dict(
            entity_id=entity_id,
            channel=channel,
            received_date=day,
            amount=received,
            currency=currency,
            payer_name=name,
            payer_account=account,
            customer_id=customer.customer_id if customer else None,
            applications=applications,
            remittance=remittance,
            fee_deducted=fee,
            gl_posted=gl_posted,
            in_cash_application=in_cash_application,
        )
        if fx is not None:
            common.update(instructed_amount=fx[0], instructed_currency=fx[1], fx_rate=fx[2])
        if channel == "lockbox":
            payment = self._lockbox_item(day, customer, common)
        else:
            payment = self._bank_credit(day, customer, common)
        self.world.payments.append(payment)
        if gl_posted:
            cash_account = "1020" if channel == "lockbox" else "1010"
            refs = " ".join(i.invoice_number for i in invoices)[:60] or None
            journal = self.post(
                entity_id,
                day,
                [
                    (cash_account, None, received, ZERO, f"Customer receipt {name}"[:80], refs),
                    ("1200", None, ZERO, received, f"Customer receipt {name}"[:80], refs),
                ],
            )
            cash_line = journal.lines[0].gl_line_id
            if channel == "lockbox":
                self._lockbox_gl[payment.payment_id] = cash_line
            else:
                line = next(b for b in self.world.bank_lines if b.bank_ref == payment.payment_id)
                line.gl_line_ids.append(cash_line)
        return payment

    def _lockbox_item(
        self, day: date, customer: Customer | None, common: dict[str, Any]
    ) -> Payment:
        position = self.next_number(f"lockbox-{day.isoformat()}", 0)
        batch, item = divmod(position, LOCKBOX_BATCH_SIZE)
        item_id = lockbox_item_id(self.world.lockbox_number, day, batch + 1, item + 1)
        assert customer is not None
        return Payment(
            payment_id=item_id,
            source_system="lockbox",
            check_number=str(self.rng.randint(1001, 99999)),
            check_date=day - timedelta(days=self.rng.randint(3, 8)),
            routing=customer.routing,
            account=customer.account,
            bank_account_id="US01-LBX",
            lockbox_batch=batch + 1,
            lockbox_item=item + 1,
            **common,
        )

    def _bank_credit(self, day: date, customer: Customer | None, common: dict[str, Any]) -> Payment:
        entity_id = common["entity_id"]
        system = _BANK_SYSTEM[entity_id]
        ref = self.bank_ref(system, day)
        channel = common["channel"]
        e2e = None
        if system == "camt":
            e2e = "NOTPROVIDED" if self.rng.randint(0, 3) == 0 else ids.alnum_upper(self.rng, 16)
        elif system == "mt940" and channel == "wire":
            e2e = ids.alnum_upper(self.rng, 12)
        details: dict[str, str] = {}
        if channel == "ach":
            details = {
                "orig_id": ids.digits(self.rng, 10),
                "trace": ids.digits(self.rng, 15),
            }
        elif channel == "wire" and system == "bai2":
            details = {
                "imad": f"{day:%Y%m%d}QMGFT{ids.digits(self.rng, 3)}{ids.digits(self.rng, 6)}"
            }
        kind = {
            "ach": "ach_credit",
            "wire": "wire_credit",
            "sepa": "sepa_credit",
            "wire_usd": "xborder_credit",
            "fps": "fps_credit",
        }[channel]
        account_id = _OPERATING[entity_id]
        line = BankLine(
            source_system=system,
            bank_account_id=account_id,
            booking_date=day,
            value_date=day,
            amount=common["amount"],
            currency=common["currency"],
            kind=kind,
            bank_ref=ref,
            counterparty_name=common["payer_name"],
            counterparty_account=common["payer_account"],
            end_to_end_id=e2e,
            remittance=common["remittance"],
            payment_id=ref,
            instructed_amount=common.get("instructed_amount"),
            instructed_currency=common.get("instructed_currency"),
            fx_rate=common.get("fx_rate"),
            details=details,
        )
        self.world.bank_lines.append(line)
        return Payment(
            payment_id=ref,
            source_system=system,
            end_to_end_id=e2e,
            bank_account_id=account_id,
            **common,
        )

    def _customer_payments(self, day: date) -> None:
        plan = (
            ("US01", "lockbox", 3, 5),
            ("US01", "ach", 1, 3),
            ("US01", "wire", 0, 2),
            ("DE01", "sepa", 2, 4),
            ("GB01", "fps", 2, 4),
            ("GB01", "wire", 0, 1),
        )
        for entity_id, channel, low, high in plan:
            for n in range(self.rng.randint(low, high)):
                if n < low:
                    picked = self.pick_or_backfill(entity_id, channel, day)
                else:
                    picked = self.pick_invoices(entity_id, channel, day)
                if picked is None:
                    break
                customer, invoices = picked
                self.receive(day, customer, invoices)

    # ---- Stripe -----------------------------------------------------------------------------

    def charge(self, day: date, customer: Customer, invoice: Invoice) -> Charge:
        """A card payment of an invoice through Stripe (a charge and its balance transaction)."""
        amount = to_minor(invoice.amount, "USD")
        created = epoch_seconds(
            day, self.rng.randint(14, 22), self.rng.randint(0, 59), self.rng.randint(0, 59)
        )
        charge = Charge(
            id=ids.stripe_id(self.rng, "ch"),
            amount=amount,
            currency="usd",
            created=created,
            customer=customer.stripe_customer_id or "",
            customer_id=customer.customer_id,
            invoice_number=invoice.invoice_number,
            invoice_id=invoice.invoice_id,
            payment_intent=ids.stripe_id(self.rng, "pi"),
            payment_method=ids.stripe_id(self.rng, "pm"),
            balance_transaction=ids.stripe_id(self.rng, "txn"),
            card_brand=self.rng.choice(["visa", "mastercard", "amex"]),
            card_last4=ids.digits(self.rng, 4),
            billing_name=customer.name,
            created_date=day,
        )
        fee = (amount * 29 + 500) // 1000 + 30  # 2.9% + 30c, rounded half up to the cent
        self.world.charges.append(charge)
        self.world.balance_txns.append(
            BalanceTxn(
                id=charge.balance_transaction,
                type="charge",
                amount=amount,
                fee=fee,
                net=amount - fee,
                currency="usd",
                created=created,
                available_on=0,
                source=charge.id,
                description=f"Invoice {invoice.invoice_number}",
                reporting_category="charge",
                status="pending",
            )
        )
        invoice.applied += invoice.amount
        invoice.reserved = True
        self.world.payments.append(
            Payment(
                payment_id=charge.id,
                source_system="stripe",
                entity_id="US01",
                channel="card",
                received_date=day,
                amount=invoice.amount,
                currency="USD",
                payer_name=customer.name,
                payer_account=customer.stripe_customer_id,
                customer_id=customer.customer_id,
                applications=[Application(invoice.invoice_id, invoice.amount)],
                remittance=[RemitRef(invoice.invoice_number)],
                gl_posted=False,
            )
        )
        return charge

    def _stripe_day(self, day: date) -> None:
        start = len(self.world.balance_txns)
        for n in range(self.rng.randint(3, 5)):
            if n == 0:
                picked = self.pick_or_backfill("US01", "card", day, min_age=0)
            else:
                picked = self.pick_invoices("US01", "card", day, min_age=0)
            if picked is None:
                break
            customer, invoices = picked
            self.charge(day, customer, invoices[0])
        charges_today = [c for c in self.world.charges if c.created_date == day]
        if self.index % 2 == 1:
            previous = [c for c in self.world.charges if c.created_date < day]
            available = sum(t.net for t in self.world.balance_txns[start:])
            refunded = self.rng.choice(previous[-5:]) if previous else None
            amount = 0
            if refunded is not None:
                amount = refunded.amount if self.rng.randint(0, 1) else refunded.amount // 2
                if amount > available // 2:
                    amount = refunded.amount // 2
            # a refund never exceeds half of the day's balance, so every payout stays positive
            if refunded is not None and 0 < amount <= available // 2:
                created = epoch_seconds(day, self.rng.randint(14, 22), self.rng.randint(0, 59))
                refund = Refund(
                    id=ids.stripe_id(self.rng, "re"),
                    charge_id=refunded.id,
                    amount=amount,
                    currency="usd",
                    created=created,
                    balance_transaction=ids.stripe_id(self.rng, "txn"),
                    payment_intent=refunded.payment_intent,
                    invoice_number=refunded.invoice_number,
                    created_date=day,
                )
                self.world.refunds.append(refund)
                self.world.balance_txns.append(
                    BalanceTxn(
                        id=refund.balance_transaction,
                        type="refund",
                        amount=-amount,
                        fee=0,
                        net=-amount,
                        currency="usd",
                        created=created,
                        available_on=0,
                        source=refund.id,
                        description="REFUND FOR CHARGE (requested_by_customer)",
                        reporting_category="refund",
                        status="pending",
                    )
                )
        if self.index % 2 == 0 and charges_today:
            fee = 7 * len(charges_today)
            self.world.balance_txns.append(
                BalanceTxn(
                    id=ids.stripe_id(self.rng, "txn"),
                    type="stripe_fee",
                    amount=-fee,
                    fee=0,
                    net=-fee,
                    currency="usd",
                    created=epoch_seconds(day, 23, 5),
                    available_on=0,
                    source=None,
                    description=f"Radar for Fraud Teams ({len(charges_today)} screenings)",
                    reporting_category="fee",
                    status="pending",
                )
            )
        todays = self.world.balance_txns[start:]
        total = sum(t.net for t in todays)
        if total <= 0:
            return
        arrival = add_business_days(day, PAYOUT_DELAY_DAYS)
        payout = Payout(
            id=ids.stripe_id(self.rng, "po"),
            amount=total,
            currency="usd",
            created=epoch_seconds(day, 23, 30),
            created_date=day,
            arrival_date=arrival,
            bank_date=arrival,
            balance_transaction=ids.stripe_id(self.rng, "txn"),
            destination=STRIPE_DESTINATION,
            statement_descriptor=f"ST-{ids.alnum_upper(self.rng, 12)}",
            txn_ids=[t.id for t in todays],
        )
        for txn in todays:
            txn.available_on = epoch_seconds(arrival, 0, 0)
            txn.payout_id = payout.id
        self.world.balance_txns.append(
            BalanceTxn(
                id=payout.balance_transaction,
                type="payout",
                amount=-total,
                fee=0,
                net=-total,
                currency="usd",
                created=payout.created,
                available_on=payout.created,
                source=payout.id,
                description="STRIPE PAYOUT",
                reporting_category="payout",
                status="available",
                payout_id=payout.id,
            )
        )
        self.world.payouts.append(payout)
        noise.on_payout(self, payout)

    def _payouts_arriving(self, day: date) -> None:
        for payout in self.world.payouts:
            if payout.bank_date != day:
                continue
            amount = cents(payout.amount)
            ref = self.bank_ref("bai2", day)
            journal = self.post(
                "US01",
                day,
                [
                    ("1010", None, amount, ZERO, "Stripe payout", payout.id),
                    ("1150", None, ZERO, amount, "Stripe payout", payout.id),
                ],
            )
            self.world.bank_lines.append(
                BankLine(
                    source_system="bai2",
                    bank_account_id="US01-OPER",
                    booking_date=day,
                    value_date=day,
                    amount=amount,
                    currency="USD",
                    kind="stripe_payout",
                    bank_ref=ref,
                    counterparty_name="STRIPE",
                    gl_line_ids=[journal.lines[0].gl_line_id],
                    details={
                        "orig_id": "1800948598",
                        "trace": ids.digits(self.rng, 15),
                        "descriptor": payout.statement_descriptor,
                        "payout_id": payout.id,
                    },
                )
            )

    # ---- lockbox ----------------------------------------------------------------------------

    def _lockbox_deposit(self, day: date) -> None:
        items = [
            p for p in self.world.payments if p.channel == "lockbox" and p.received_date == day
        ]
        if not items:
            return
        total = sum((p.amount for p in items), ZERO)
        batches = len({p.lockbox_batch for p in items})
        self.world.bank_lines.append(
            BankLine(
                source_system="bai2",
                bank_account_id="US01-LBX",
                booking_date=day,
                value_date=day,
                amount=total,
                currency="USD",
                kind="lockbox_deposit",
                bank_ref=self.bank_ref("bai2", day),
                customer_ref=self.world.lockbox_number,
                gl_line_ids=[self._lockbox_gl[p.payment_id] for p in items if p.gl_posted],
                details={"batches": str(batches), "items": str(len(items))},
            )
        )

    # ---- vendor payments --------------------------------------------------------------------

    def pay_vendor(self, day: date, vendor: Vendor, method: str) -> None:
        """Pay an older bill of ``vendor``: GL now, bank now (checks clear a day later)."""
        entity_id = vendor.entity_id
        amount = self.amount(500, 30000)
        bill_number = f"{vendor.bill_prefix}-{ids.digits(self.rng, 5)}"
        pay_ref = f"PAY-{entity_id}-{self.next_number(f'pay-{entity_id}', 1):06d}"
        check_number = str(self.next_number("check", 20451)) if method == "check" else None
        reference = check_number or pay_ref
        journal = self.post(
            entity_id,
            day,
            [
                ("2000", None, amount, ZERO, f"Vendor payment {vendor.name}"[:80], bill_number),
                ("1010", None, ZERO, amount, f"Vendor payment {vendor.name}"[:80], reference),
            ],
        )
        cash_line = journal.lines[1].gl_line_id
        bank_day = add_business_days(day, 1) if method == "check" else day
        if bank_day > self.world.window_end:
            noise.outstanding_check(self, cash_line, check_number or "", bank_day)
            return
        system = _BANK_SYSTEM[entity_id]
        kind = {
            "ach": "vendor_ach",
            "check": "check_paid",
            "wire": "vendor_wire",
            "sepa": "sepa_debit",
            "fps": "fps_debit",
        }[method]
        self.world.bank_lines.append(
            BankLine(
                source_system=system,
                bank_account_id=_OPERATING[entity_id],
                booking_date=bank_day,
                value_date=bank_day,
                amount=-amount,
                currency=self.world.entity(entity_id).currency,
                kind=kind,
                bank_ref=self.bank_ref(system, bank_day),
                customer_ref=reference,
                counterparty_name=vendor.name,
                counterparty_account=vendor.payee_account,
                end_to_end_id=pay_ref if system != "bai2" else None,
                remittance=[RemitRef(bill_number)],
                check_number=check_number,
                gl_line_ids=[cash_line],
            )
        )

    def _vendor_payments(self, day: date) -> None:
        for entity_id in ("US01", "DE01", "GB01"):
            vendors = self.vendors(entity_id)
            for _ in range(self.rng.randint(1, 2)):
                vendor = self.rng.choice([v for v in vendors if v.pay_method != "check"])
                method = (
                    "ach"
                    if vendor.pay_method == "wire" and self.index % 2 == 0
                    else vendor.pay_method
                )
                self.pay_vendor(day, vendor, method)
            if entity_id == "US01":
                self.pay_vendor(
                    day, self.rng.choice([v for v in vendors if v.pay_method == "check"]), "check"
                )

    # ---- procurement ------------------------------------------------------------------------

    def purchase_order(
        self, entity_id: str, order_date: date, export_date: date, *, backlog: bool = False
    ) -> list[PoLine]:
        vendor = self.rng.choice(self.vendors(entity_id))
        po_number = f"PO-{self.next_number('po', 45001)}"
        centers = cost_center_ids(entity_id)
        lines: list[PoLine] = []
        for line_no, (item, price, _) in enumerate(
            self.rng.sample(_CATALOG, self.rng.randint(1, 3)), start=1
        ):
            quantity = Decimal(self.rng.randint(1, 12))
            if item == "Consulting hours":
                quantity = Decimal(self.rng.randint(8, 80)) / 2
            unit_price = Decimal(price)
            lines.append(
                PoLine(
                    po_line_id=f"{po_number}-{line_no}",
                    po_number=po_number,
                    line_no=line_no,
                    entity_id=entity_id,
                    vendor_id=vendor.vendor_id,
                    order_date=order_date,
                    item=item,
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=quantize(quantity * unit_price, vendor.currency),
                    currency=vendor.currency,
                    cost_center_id=self.rng.choice(centers),
                    export_date=export_date,
                )
            )
        self.world.po_lines.extend(lines)
        days = self.world.days
        received = days[0] if backlog else add_business_days(order_date, 1)
        billed = days[min(1, len(days) - 1)] if backlog else add_business_days(order_date, 2)
        quantities = {line.po_line_id: line.quantity for line in lines}
        prices = {line.po_line_id: line.unit_price for line in lines}
        noise.on_purchase_order(self, lines, quantities, prices, backlog)
        if received <= self.world.window_end:
            self._receive_goods(lines, received, quantities)
            if billed <= self.world.window_end:
                self._bill(vendor, lines, billed, prices)
        return lines

    def _receive_goods(
        self, lines: list[PoLine], day: date, quantities: dict[str, Decimal]
    ) -> None:
        number = f"GR-{self.next_number('receipt', 61001)}"
        entity_id = lines[0].entity_id
        for line_no, line in enumerate(lines, start=1):
            received = quantities[line.po_line_id]
            self.world.receipt_lines.append(
                ReceiptLine(
                    receipt_line_id=f"{number}-{line_no}",
                    receipt_number=number,
                    po_number=line.po_number,
                    po_line_no=line.line_no,
                    entity_id=entity_id,
                    received_date=day,
                    quantity=received,
                    po_line_id=line.po_line_id,
                )
            )
            value = quantize(received * line.unit_price, line.currency)
            account = next(acc for item, _, acc in _CATALOG if item == line.item)
            self.post(
                entity_id,
                day,
                [
                    (
                        account,
                        line.cost_center_id,
                        value,
                        ZERO,
                        f"Goods receipt {number}",
                        line.po_number,
                    ),
                    ("2050", None, ZERO, value, f"Goods receipt {number}", line.po_number),
                ],
            )

    def _bill(
        self, vendor: Vendor, lines: list[PoLine], day: date, prices: dict[str, Decimal]
    ) -> None:
        bill_number = f"{vendor.bill_prefix}-{ids.digits(self.rng, 5)}"
        internal = self.next_number("bill", 300001)
        entity_id = vendor.entity_id
        tax_code = PURCHASE_TAX[entity_id]
        rate = next(
            t.rate
            for t in self.world.tax_codes
            if t.entity_id == entity_id and t.tax_code == tax_code
        )
        net = ZERO
        for line_no, line in enumerate(lines, start=1):
            price = prices[line.po_line_id]
            amount = quantize(line.quantity * price, vendor.currency)
            net += amount
            self.world.bill_lines.append(
                BillLine(
                    bill_line_id=f"VB-{internal}-{line_no}",
                    bill_number=bill_number,
                    line_no=line_no,
                    entity_id=entity_id,
                    vendor_id=vendor.vendor_id,
                    po_number=line.po_number,
                    po_line_no=line.line_no,
                    bill_date=day,
                    due_date=day + timedelta(days=30),
                    quantity=line.quantity,
                    unit_price=price,
                    amount=amount,
                    currency=vendor.currency,
                    tax_code=tax_code,
                    po_line_id=line.po_line_id,
                )
            )
        self._post_bill(
            entity_id, day, bill_number, "2050", net, quantize(net * rate, vendor.currency)
        )

    def _post_bill(
        self, entity_id: str, day: date, bill_number: str, account: str, net: Decimal, tax: Decimal
    ) -> None:
        lines: list[tuple[str, str | None, Decimal, Decimal, str, str | None]] = [
            (account, None, net, ZERO, f"Vendor bill {bill_number}", bill_number)
        ]
        if tax:
            lines.append(("1250", None, tax, ZERO, f"Input tax {bill_number}", bill_number))
        lines.append(("2000", None, ZERO, net + tax, f"Vendor bill {bill_number}", bill_number))
        self.post(entity_id, day, lines)

    def service_bill(self, day: date, vendor: Vendor, *, tax_code: str | None = None) -> BillLine:
        """A non-PO bill (rent, legal, utilities): outside the three-way match."""
        _, low, high, account = self.rng.choice(_SERVICES)
        amount = self.amount(low, high)
        internal = self.next_number("bill", 300001)
        bill_number = f"{vendor.bill_prefix}-{ids.digits(self.rng, 5)}"
        entity_id = vendor.entity_id
        code = tax_code if tax_code is not None else PURCHASE_TAX[entity_id]
        rate = next(
            t.rate for t in self.world.tax_codes if t.entity_id == entity_id and t.tax_code == code
        )
        line = BillLine(
            bill_line_id=f"VB-{internal}-1",
            bill_number=bill_number,
            line_no=1,
            entity_id=entity_id,
            vendor_id=vendor.vendor_id,
            po_number=None,
            po_line_no=None,
            bill_date=day,
            due_date=day + timedelta(days=30),
            quantity=Decimal(1),
            unit_price=amount,
            amount=amount,
            currency=vendor.currency,
            tax_code=code,
        )
        self.world.bill_lines.append(line)
        tax = quantize(amount * rate, vendor.currency)
        self._post_bill(entity_id, day, bill_number, account, amount, tax)
        return line

    def _procurement(self, day: date) -> None:
        for entity_id in ("US01", "DE01", "GB01"):
            self.purchase_order(entity_id, day, day)
            self.service_bill(day, self.rng.choice(self.vendors(entity_id)))

    # ---- payroll ----------------------------------------------------------------------------

    def _payroll(self, day: date) -> None:
        """Monthly payroll on the window's last day: register, journal, bank funding."""
        period_start = day.replace(day=1)
        next_month = (period_start + timedelta(days=32)).replace(day=1)
        period_end = next_month - timedelta(days=1)
        for entity_id in ("US01", "DE01", "GB01"):
            ee_rate, er_rate, benefits = _PAYROLL_RATES[entity_id]
            currency = self.world.entity(entity_id).currency
            run_id = f"PR-{entity_id}-{day:%Y%m}"
            entries: list[PayrollEntry] = []
            for emp in sorted(
                (e for e in self.world.employees if e.entity_id == entity_id),
                key=lambda e: e.employee_id,
            ):
                gross = quantize(emp.annual_salary / 12, currency)
                ee_tax = quantize(gross * ee_rate, currency)
                er_tax = quantize(gross * er_rate, currency)
                net = gross - ee_tax - benefits
                for component, value in (
                    ("gross", gross),
                    ("employee_tax", ee_tax),
                    ("employer_tax", er_tax),
                    ("benefits", benefits),
                    ("net", net),
                ):
                    entries.append(
                        PayrollEntry(
                            payroll_entry_id=f"{run_id}-{emp.employee_id}-{component}",
                            entity_id=entity_id,
                            pay_period_start=period_start,
                            pay_period_end=period_end,
                            pay_date=day,
                            employee_id=emp.employee_id,
                            cost_center_id=emp.cost_center_id,
                            true_cost_center_id=emp.cost_center_id,
                            component=component,
                            amount=value,
                            currency=currency,
                        )
                    )
            noise.on_payroll(self, entity_id, entries)
            self.world.payroll_entries.extend(entries)
            self._post_payroll(entity_id, day, run_id, entries)

    def _post_payroll(
        self, entity_id: str, day: date, run_id: str, entries: list[PayrollEntry]
    ) -> None:
        def total(component: str, center: str | None = None) -> Decimal:
            return sum(
                (
                    e.amount
                    for e in entries
                    if e.component == component
                    and (center is None or e.true_cost_center_id == center)
                ),
                ZERO,
            )

        lines: list[tuple[str, str | None, Decimal, Decimal, str, str | None]] = []
        for center in cost_center_ids(entity_id):
            if total("gross", center):
                lines.append(
                    ("6000", center, total("gross", center), ZERO, "Payroll gross", run_id)
                )
                lines.append(
                    (
                        "6010",
                        center,
                        total("employer_tax", center),
                        ZERO,
                        "Employer payroll tax",
                        run_id,
                    )
                )
        lines += [
            ("2200", None, ZERO, total("employee_tax"), "Employee tax withheld", run_id),
            ("2200", None, ZERO, total("employer_tax"), "Employer tax payable", run_id),
            ("2210", None, ZERO, total("benefits"), "Benefits deductions", run_id),
            ("2100", None, ZERO, total("net"), "Net pay", run_id),
        ]
        self.post(entity_id, day, lines)
        net = total("net")
        funding = self.post(
            entity_id,
            day,
            [
                ("2100", None, net, ZERO, "Payroll funding", run_id),
                ("1010", None, ZERO, net, "Payroll funding", run_id),
            ],
        )
        system = _BANK_SYSTEM[entity_id]
        self.world.bank_lines.append(
            BankLine(
                source_system=system,
                bank_account_id=_OPERATING[entity_id],
                booking_date=day,
                value_date=day,
                amount=-net,
                currency=self.world.entity(entity_id).currency,
                kind="payroll",
                bank_ref=self.bank_ref(system, day),
                customer_ref=run_id,
                counterparty_name=self.world.entity(entity_id).name,
                end_to_end_id=run_id if system != "bai2" else None,
                remittance=[
                    RemitRef(
                        f"LOHN GEHALT {day:%m/%Y}"
                        if entity_id == "DE01"
                        else f"PAYROLL {month_label(day)}"
                    )
                ],
                gl_line_ids=[funding.lines[1].gl_line_id],
                details={"orig_id": ids.digits(self.rng, 10), "trace": ids.digits(self.rng, 15)},
            )
        )

    def bank_fee(self, day: date, entity_id: str, amount: Decimal, text: str) -> BankLine:
        """A fee the bank charges directly (nobody has booked it in the GL yet)."""
        system = _BANK_SYSTEM[entity_id]
        line = BankLine(
            source_system=system,
            bank_account_id=_OPERATING[entity_id],
            booking_date=day,
            value_date=day,
            amount=-amount,
            currency=self.world.entity(entity_id).currency,
            kind="bank_fee",
            bank_ref=self.bank_ref(system, day),
            remittance=[RemitRef(text)],
        )
        self.world.bank_lines.append(line)
        return line


def lockbox_item_id(lockbox_number: str, deposit_date: date, batch: int, item: int) -> str:
    """Source id of a lockbox check: lockbox, deposit date, batch and item number."""
    return f"{lockbox_number}-{deposit_date:%Y%m%d}-{batch:03d}-{item:03d}"


def build_world(start: date, days: int, seed: int) -> World:
    return Simulation(start, days, seed).run()
