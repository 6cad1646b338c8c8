"""The answer key: which records should match, which exceptions should stay open, and every
planted problem.

Records are named as the pipeline keeps them: canonical table (``record_type``), source
system and the id as the source wrote it (bank reference, camt AcctSvcrRef, MT940 bank
reference, lockbox item id, Stripe id, ERP/CRM/Coupa/Workday id). Expected exceptions are
those still open after every generated day has been processed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from finance_pipeline.generator.model import (
    ExpectedException,
    JournalLine,
    MatchGroup,
    Ref,
    World,
)

MATCH_COLUMNS = ("workflow", "group_id", "side", "record_type", "source_system", "source_id")
EXCEPTION_COLUMNS = ("exception_type", "record_type", "source_system", "source_id", "detail")
NOISE_COLUMNS = ("noise_type", "record_type", "source_system", "source_id", "detail")


def _invoice(invoice_id: str) -> Ref:
    return Ref("invoices", "netsuite", invoice_id)


def _gl(line_id: str) -> Ref:
    return Ref("gl_journal_lines", "netsuite", line_id)


def cash_application(world: World) -> list[MatchGroup]:
    groups = []
    for payment in world.payments:
        if not (payment.in_cash_application and payment.applications):
            continue
        groups.append(
            MatchGroup(
                "cash_application",
                f"CA-{payment.payment_id}",
                [Ref("payments", payment.source_system, payment.payment_id)],
                [_invoice(a.invoice_id) for a in payment.applications],
            )
        )
    return groups


def bank_reconciliation(world: World) -> list[MatchGroup]:
    return [
        MatchGroup(
            "bank_reconciliation",
            f"BR-{line.bank_ref}",
            [Ref("bank_transactions", line.source_system, line.bank_ref)],
            [_gl(i) for i in line.gl_line_ids],
        )
        for line in world.bank_lines
        if line.gl_line_ids
    ]


def processor_settlement(world: World) -> list[MatchGroup]:
    """Each payout against its balance transactions, and against its bank credit."""
    groups = []
    for payout in world.payouts:
        payout_ref = Ref("payouts", "stripe", payout.id)
        groups.append(
            MatchGroup(
                "processor_settlement",
                f"PS-{payout.id}",
                [payout_ref],
                [Ref("processor_transactions", "stripe", t) for t in payout.txn_ids],
            )
        )
        credit = next(
            (b for b in world.bank_lines if b.details.get("payout_id") == payout.id), None
        )
        if credit is not None:
            groups.append(
                MatchGroup(
                    "processor_settlement",
                    f"PS-BANK-{payout.id}",
                    [Ref("bank_transactions", credit.source_system, credit.bank_ref)],
                    [payout_ref],
                )
            )
    return groups


def three_way_match(world: World) -> list[MatchGroup]:
    """PO lines that were both received and billed inside the window."""
    groups = []
    for po in world.po_lines:
        receipts = [r for r in world.receipt_lines if r.po_line_id == po.po_line_id]
        bills = [b for b in world.bill_lines if b.po_line_id == po.po_line_id]
        if not (receipts and bills):
            continue
        groups.append(
            MatchGroup(
                "three_way_match",
                f"TW-{po.po_line_id}",
                [Ref("purchase_orders", "coupa", po.po_line_id)],
                [Ref("receipts", "coupa", r.receipt_line_id) for r in receipts]
                + [Ref("bills", "netsuite", b.bill_line_id) for b in bills],
            )
        )
    return groups


def _posting(
    lines: list[JournalLine], account: str, center: str | None, description: str | None
) -> JournalLine:
    return next(
        line
        for line in lines
        if line.gl_account == account
        and line.cost_center_id == center
        and (description is None or line.description == description)
    )


def payroll_to_ledger(world: World) -> list[MatchGroup]:
    """Register entries against the payroll journal line that posts them.

    Expense components post per cost centre (the ledger's, which is right even where the
    register's is missing or invalid); withholdings, benefits and net pay post in total.
    """
    groups = []
    lines = world.journal_lines()
    for entity_id in sorted({e.entity_id for e in world.payroll_entries}):
        entries = [e for e in world.payroll_entries if e.entity_id == entity_id]
        run_id = entries[0].payroll_entry_id.rsplit("-", 2)[0]
        posted = [
            line
            for line in lines
            if line.entity_id == entity_id
            and line.reference == run_id
            and line.description != "Payroll funding"
        ]

        centers = sorted({e.true_cost_center_id for e in entries})
        plan: list[tuple[str, str, str | None, str | None]] = []
        for center in centers:
            plan.append(("gross", "6000", center, None))
            plan.append(("employer_tax", "6010", center, None))
        plan += [
            ("employee_tax", "2200", None, "Employee tax withheld"),
            ("benefits", "2210", None, None),
            ("net", "2100", None, "Net pay"),
        ]
        for component, account, center, description in plan:
            members = [
                e
                for e in entries
                if e.component == component and (center is None or e.true_cost_center_id == center)
            ]
            line = _posting(posted, account, center, description)
            suffix = f"{center}-{component}" if center else component
            groups.append(
                MatchGroup(
                    "payroll_to_ledger",
                    f"PL-{entity_id}-{suffix}",
                    [Ref("payroll_entries", "workday", e.payroll_entry_id) for e in members],
                    [_gl(line.gl_line_id)],
                )
            )
    return groups


def match_groups(world: World) -> list[MatchGroup]:
    return (
        cash_application(world)
        + bank_reconciliation(world)
        + processor_settlement(world)
        + three_way_match(world)
        + payroll_to_ledger(world)
    )


def expected_exceptions(world: World) -> list[ExpectedException]:
    """Planted exceptions plus bank lines nobody booked (fees, unknown or duplicate money)."""
    found = list(world.exceptions)
    for line in world.bank_lines:
        if line.gl_line_ids or line.booking_date > world.window_end:
            continue
        found.append(
            ExpectedException(
                "unmatched_bank_transaction",
                Ref("bank_transactions", line.source_system, line.bank_ref),
                f"{line.kind} {line.amount} {line.currency} on {line.booking_date.isoformat()} "
                "has no GL entry",
            )
        )
    return found


def _csv(columns: Iterable[str], rows: list[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(sorted(set(rows)))
    return buffer.getvalue()


def render(world: World) -> dict[str, str]:
    """Relative path -> CSV text of the three truth files."""
    matches = [
        (g.workflow, g.group_id, side, ref.record_type, ref.source_system, ref.source_id)
        for g in match_groups(world)
        for side, refs in (("left", g.left), ("right", g.right))
        for ref in refs
    ]
    exceptions = [
        (e.exception_type, e.ref.record_type, e.ref.source_system, e.ref.source_id, e.detail)
        for e in expected_exceptions(world)
    ]
    noise = [
        (n.noise_type, n.ref.record_type, n.ref.source_system, n.ref.source_id, n.detail)
        for n in world.noise
    ]
    return {
        "truth/expected_matches.csv": _csv(MATCH_COLUMNS, matches),
        "truth/expected_exceptions.csv": _csv(EXCEPTION_COLUMNS, exceptions),
        "truth/planted_noise.csv": _csv(NOISE_COLUMNS, noise),
    }
