"""camt.053.001.08 end-of-day statement of Euro Bank for DE01's EUR account.

One ``Stmt`` per business day with OPBD and CLBD balances, a correct ``TxsSummry`` and one
``Ntry`` per booked line, each with a single ``TxDtls`` carrying the end-to-end id, the
counterparty and the remittance (unstructured text, or a structured RF creditor
reference). Payments sent in another currency carry ``AmtDtls`` with the instructed amount
and the exchange rate. Element order follows the .08 schema.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from finance_pipeline.generator.dates import berlin_offset, business_day_ordinal
from finance_pipeline.generator.ids import latin_basic
from finance_pipeline.generator.model import BankLine, World
from finance_pipeline.money import exponent

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
ACCOUNT = "DE01-EUR-OPER"

# kind -> (domain, family, sub-family, DK proprietary code, additional entry information)
_CODES = {
    "sepa_credit": ("PMNT", "RCDT", "ESCT", "NTRF+166", "SEPA-GUTSCHRIFT"),
    "xborder_credit": ("PMNT", "RCDT", "XBCT", "NTRF+202", "AUSLANDSZAHLUNG GUTSCHRIFT"),
    "sepa_debit": ("PMNT", "ICDT", "ESCT", "NTRF+116", "SEPA-UEBERWEISUNG"),
    "payroll": ("PMNT", "ICDT", "ESCT", "NTRF+153", "LOHN GEHALT RENTE"),
    "bank_fee": ("ACMT", "MDOP", "CHRG", "NCHG+805", "ENTGELTABSCHLUSS"),
}


def file_name(day: date) -> str:
    return f"EURO_DE01_{day:%Y%m%d}.xml"


def _amount(value: Decimal, currency: str = "EUR") -> str:
    """Unsigned, at the currency's minor-unit exponent (0.01 for EUR, 1 for JPY)."""
    return format(abs(value).quantize(Decimal(1).scaleb(-exponent(currency))), "f")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, path: str, text: str) -> ET.Element:
    """Create ``A/B/C`` under ``parent`` and set the innermost text."""
    node = parent
    for tag in path.split("/"):
        node = _sub(node, tag)
    node.text = text
    return node


def _account_id(parent: ET.Element, account: str) -> None:
    ident = _sub(parent, "Id")
    if account[:2].isalpha() and account[2:4].isdigit():
        _sub(ident, "IBAN", account.replace(" ", ""))
    else:
        _path(ident, "Othr/Id", account)


def _balance(stmt: ET.Element, code: str, amount: Decimal, day: date, currency: str) -> None:
    bal = _sub(stmt, "Bal")
    _path(bal, "Tp/CdOrPrtry/Cd", code)
    _sub(bal, "Amt", _amount(amount, currency), Ccy=currency)
    _sub(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _path(bal, "Dt/Dt", day.isoformat())


def _entry(stmt: ET.Element, line: BankLine) -> None:
    credit = line.amount > 0
    indicator = "CRDT" if credit else "DBIT"
    domain, family, sub_family, proprietary, info = _CODES[line.kind]
    ntry = _sub(stmt, "Ntry")
    _sub(ntry, "NtryRef", line.bank_ref)
    _sub(ntry, "Amt", _amount(line.amount, line.currency), Ccy=line.currency)
    _sub(ntry, "CdtDbtInd", indicator)
    _path(ntry, "Sts/Cd", "BOOK")
    _path(ntry, "BookgDt/Dt", line.booking_date.isoformat())
    _path(ntry, "ValDt/Dt", line.value_date.isoformat())
    _sub(ntry, "AcctSvcrRef", line.bank_ref)
    code = _sub(ntry, "BkTxCd")
    domn = _sub(code, "Domn")
    _sub(domn, "Cd", domain)
    fmly = _sub(domn, "Fmly")
    _sub(fmly, "Cd", family)
    _sub(fmly, "SubFmlyCd", sub_family)
    prtry = _sub(code, "Prtry")
    _sub(prtry, "Cd", proprietary)
    _sub(prtry, "Issr", "DK")

    tx = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
    refs = _sub(tx, "Refs")
    _sub(refs, "EndToEndId", line.end_to_end_id or "NOTPROVIDED")
    _sub(tx, "Amt", _amount(line.amount, line.currency), Ccy=line.currency)
    _sub(tx, "CdtDbtInd", indicator)
    if line.instructed_amount is not None and line.fx_rate is not None:
        details = _sub(tx, "AmtDtls")
        instructed = _sub(details, "InstdAmt")
        instructed_ccy = line.instructed_currency or ""
        _sub(instructed, "Amt", _amount(line.instructed_amount, instructed_ccy), Ccy=instructed_ccy)
        booked = _sub(details, "TxAmt")
        _sub(booked, "Amt", _amount(line.amount, line.currency), Ccy=line.currency)
        xchg = _sub(booked, "CcyXchg")
        _sub(xchg, "SrcCcy", line.instructed_currency or "")
        _sub(xchg, "TrgtCcy", line.currency)
        _sub(xchg, "UnitCcy", line.instructed_currency or "")
        _sub(xchg, "XchgRate", format(line.fx_rate, "f"))
    if line.counterparty_name or line.counterparty_account:
        parties = _sub(tx, "RltdPties")
        role = "Dbtr" if credit else "Cdtr"
        if line.counterparty_name:
            _path(parties, f"{role}/Pty/Nm", latin_basic(line.counterparty_name))
        if line.counterparty_account:
            _account_id(_sub(parties, f"{role}Acct"), line.counterparty_account.replace("/", ""))
    if line.remittance:
        rmt = _sub(tx, "RmtInf")
        structured = [r for r in line.remittance if r.structured]
        text = " ".join(latin_basic(r.reference) for r in line.remittance if not r.structured)
        if text:
            _sub(rmt, "Ustrd", text[:140])
        for remit in structured:
            creditor_ref = _sub(_sub(rmt, "Strd"), "CdtrRefInf")
            _path(creditor_ref, "Tp/CdOrPrtry/Cd", "SCOR")
            _sub(creditor_ref, "Ref", remit.reference)
    _sub(ntry, "AddtlNtryInf", info)


def _summary(stmt: ET.Element, lines: Sequence[BankLine], currency: str) -> None:
    credits = [b.amount for b in lines if b.amount > 0]
    debits = [-b.amount for b in lines if b.amount < 0]
    net = sum(credits, Decimal(0)) - sum(debits, Decimal(0))
    summary = _sub(stmt, "TxsSummry")
    total = _sub(summary, "TtlNtries")
    _sub(total, "NbOfNtries", str(len(lines)))
    _sub(total, "Sum", _amount(sum(credits, Decimal(0)) + sum(debits, Decimal(0)), currency))
    net_entry = _sub(total, "TtlNetNtry")
    _sub(net_entry, "Amt", _amount(net, currency))
    _sub(net_entry, "CdtDbtInd", "CRDT" if net >= 0 else "DBIT")
    for tag, values in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
        part = _sub(summary, tag)
        _sub(part, "NbOfNtries", str(len(values)))
        _sub(part, "Sum", _amount(sum(values, Decimal(0)), currency))


def render_statement(
    account_number: str,
    currency: str,
    day: date,
    opening: Decimal,
    lines: Sequence[BankLine],
    sequence: int,
    *,
    owner_name: str,
    bic: str,
) -> str:
    """A camt.053 message with one end-of-day ``Stmt`` for ``day``."""
    closing = opening + sum((b.amount for b in lines), Decimal(0))
    offset = berlin_offset(day)
    created = f"{day.isoformat()}T22:05:00{offset}"

    root = ET.Element("Document", {"xmlns": NAMESPACE})
    message = _sub(root, "BkToCstmrStmt")
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", f"EURO{day:%Y%m%d}DE01{sequence:06d}")
    _sub(header, "CreDtTm", created)
    pages = _sub(header, "MsgPgntn")
    _sub(pages, "PgNb", "1")
    _sub(pages, "LastPgInd", "true")

    stmt = _sub(message, "Stmt")
    _sub(stmt, "Id", f"DE01-EUR-{day:%Y%m%d}")
    _sub(stmt, "ElctrncSeqNb", str(sequence))
    _sub(stmt, "LglSeqNb", str(sequence))
    _sub(stmt, "CreDtTm", created)
    period = _sub(stmt, "FrToDt")
    _sub(period, "FrDtTm", f"{day.isoformat()}T00:00:00{offset}")
    _sub(period, "ToDtTm", f"{day.isoformat()}T23:59:59{offset}")
    acct = _sub(stmt, "Acct")
    _account_id(acct, account_number)
    _sub(acct, "Ccy", currency)
    _path(acct, "Ownr/Nm", latin_basic(owner_name))
    _path(acct, "Svcr/FinInstnId/BICFI", bic)
    _balance(stmt, "OPBD", opening, day, currency)
    _balance(stmt, "CLBD", closing, day, currency)
    _summary(stmt, lines, currency)
    for line in lines:
        _entry(stmt, line)

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def render(world: World, day: date) -> str:
    account = world.bank_account(ACCOUNT)
    return render_statement(
        account.account_number,
        account.currency,
        day,
        world.opening_balance(ACCOUNT, day),
        world.statement_lines(ACCOUNT, day),
        business_day_ordinal(day),
        owner_name=world.entity(account.entity_id).name,
        bic=account.bic,
    )
