"""MT940 customer statement of Global Bank for GB01's GBP account.

One statement per business day: :20: :25: :28C: :60F: then :61:/:86: pairs, :62F: and :64:.
Amounts use the decimal comma; the opening balance is dated with the previous statement's
closing date and equals that closing balance, so statements chain across days. :86: is
the structured ``NNN?00...?20...?32...`` layout many banks use (65 characters a line).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from finance_pipeline.generator.dates import add_business_days, business_day_ordinal
from finance_pipeline.generator.ids import swift_text
from finance_pipeline.generator.model import BankLine, World
from finance_pipeline.money import exponent

ACCOUNT = "GB01-GBP-OPER"
_LINE = 65

# kind -> (SWIFT transaction type after the N, business transaction code, posting text)
_TYPES = {
    "fps_credit": ("TRF", "166", "FASTER PAYMENT RECEIVED"),
    "wire_credit": ("TRF", "202", "SWIFT CREDIT RECEIVED"),
    "fps_debit": ("TRF", "116", "FASTER PAYMENT SENT"),
    "payroll": ("TRF", "153", "BACS PAYROLL"),
    "bank_fee": ("CHG", "805", "SERVICE CHARGES"),
}
_SUBFIELD = 27  # purpose and name subfields hold 27 characters each


def file_name(day: date) -> str:
    return f"GLB_GB01_{day:%Y%m%d}.sta"


def amount_text(value: Decimal, currency: str = "GBP") -> str:
    """SWIFT amount: decimal comma, no sign, no thousands separator; the currency's decimals
    (a JPY amount has none, and SWIFT still writes the comma: ``1500,``)."""
    text = format(abs(value).quantize(Decimal(1).scaleb(-exponent(currency))), "f")
    return text.replace(".", ",") if "." in text else text + ","


def _balance(tag: str, value: Decimal, day: date, currency: str) -> str:
    mark = "C" if value >= 0 else "D"
    return f":{tag}:{mark}{day:%y%m%d}{currency}{amount_text(value, currency)}"


def _subfield_text(text: str) -> str:
    """SWIFT X text without ``?``, which starts the next ``?NN`` subfield in :86:."""
    return swift_text(text).replace("?", "")


def _chunks(text: str) -> list[str]:
    return [text[i : i + _SUBFIELD] for i in range(0, len(text), _SUBFIELD)]


def _info(line: BankLine) -> list[str]:
    """The :86: content in the ``code?00text?20purpose?31account?32name`` layout.

    Purpose subfields ?20-?29 carry ``EREF+`` (end-to-end id) and ``SVWZ+`` (remittance),
    cut every 27 characters as banks do; the whole field is wrapped at 65 characters.
    """
    _, code, posting = _TYPES[line.kind]
    purpose: list[str] = []
    if line.end_to_end_id:
        purpose.extend(_chunks(f"EREF+{line.end_to_end_id}"))
    remittance = " ".join(_subfield_text(r.reference) for r in line.remittance)
    if remittance:
        purpose.extend(_chunks(f"SVWZ+{remittance}"))
    text = f"{code}?00{posting}?100999"
    text += "".join(f"?{20 + i}{piece}" for i, piece in enumerate(purpose[:10]))
    if line.counterparty_account:
        text += f"?31{line.counterparty_account}"
    name = _chunks(_subfield_text(line.counterparty_name or "").upper())
    for i, piece in enumerate(name[:2]):
        text += f"?{32 + i}{piece}"
    return _wrap(text)[:6]


def _wrap(text: str) -> list[str]:
    """65-character lines; a line never starts with ``-`` or ``:`` (SWIFT would read an end
    of message or a new tag there)."""
    rows = []
    while text:
        cut = min(_LINE, len(text))
        while 1 < cut < len(text) and text[cut] in "-:":
            cut -= 1
        rows.append(text[:cut])
        text = text[cut:]
    return rows


def _statement_line(line: BankLine) -> list[str]:
    swift_type, _, _ = _TYPES[line.kind]
    mark = "C" if line.amount > 0 else "D"
    # the account owner's reference: ours on payments out, the payer's end-to-end id on money in
    reference = (line.customer_ref if line.amount < 0 else line.end_to_end_id) or "NONREF"
    head = (
        f":61:{line.value_date:%y%m%d}{line.booking_date:%m%d}{mark}"
        f"{amount_text(line.amount, line.currency)}"
        f"N{swift_type}{reference[:16]}//{line.bank_ref}"
    )
    info = _info(line)
    return [head, f":86:{info[0]}", *info[1:]]


def render_statement(
    account_number: str,
    currency: str,
    day: date,
    opening: Decimal,
    lines: Sequence[BankLine],
    sequence: int,
) -> str:
    """One MT940 statement for ``day``; the opening balance is dated the business day before."""
    closing = opening + sum((b.amount for b in lines), Decimal(0))
    previous = add_business_days(day, -1)
    out = [
        f":20:STMT{day:%y%m%d}GB01",
        f":25:{account_number}",
        f":28C:{sequence:05d}/001",
        _balance("60F", opening, previous, currency),
    ]
    for line in lines:
        out.extend(_statement_line(line))
    out.append(_balance("62F", closing, day, currency))
    out.append(_balance("64", closing, day, currency))
    out.append("-")
    return "\n".join(out) + "\n"


def render(world: World, day: date) -> str:
    account = world.bank_account(ACCOUNT)
    return render_statement(
        account.account_number,
        account.currency,
        day,
        world.opening_balance(ACCOUNT, day),
        world.statement_lines(ACCOUNT, day),
        business_day_ordinal(day),
    )
