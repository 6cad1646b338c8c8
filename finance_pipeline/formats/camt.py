"""Strict ISO 20022 camt.052 / camt.053 / camt.054 parser (message versions .001.01 to .001.14).

Why strict: reconciliation must trust every amount, so anything a schema would reject that we
rely on (a missing ``Amt``, a non-numeric amount, a bad date, a message with no statement) raises
``ParseError`` naming the element. Inconsistencies a schema cannot see (control totals,
opening + entries != closing, mixed currencies) become failed ``Check``s, so the file stays
visible but flagged.

Elements are matched by local name: banks are inconsistent with prefixes and the layout we read is
the same in every version. The namespace URI is read only for the message type and version.

Security: bank files arrive from outside, so a DOCTYPE is refused outright (no entity expansion,
no external entities, no network) and lxml's huge-tree limits stay on.

Streaming: ``iterparse`` stops only at ``GrpHdr``, ``Stmt``/``Rpt``/``Ntfctn`` and ``Ntry``;
every entry becomes an ``Entry`` and is cleared as soon as it closes, and the entries before it are
dropped, so the tree holds a statement header plus lxml's read-ahead window, never the whole file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from finance_pipeline.formats.model import (
    Balance,
    Check,
    Entry,
    ParsedFile,
    ParseError,
    RemittanceRef,
    Statement,
    balance_proof,
    continuity_checks,
    total_check,
)
from finance_pipeline.money import fmt

Element = etree._Element

# Parser options shared by the sniff pass and the streaming pass: nothing is fetched or expanded.
_SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

_NAMESPACE_RE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d{2})$")
MIN_VERSION = 1
MAX_VERSION = 14

_AMOUNT_RE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")  # ISO amounts are unsigned
_DECIMAL_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")  # DecimalNumber (TxsSummry sums)
_COUNT_RE = re.compile(r"^\d{1,15}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_DATE_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)
_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_FIRST_TAG_RE = re.compile(rb"<[A-Za-z_]")  # where the prolog (and any DOCTYPE) must have ended

_OPENING_CODES = ("OPBD", "PRCD")  # opening booked; previously closed booked
_CLOSING_CODE = "CLBD"
_RECORD_TAGS = ("Stmt", "Rpt", "Ntfctn")
_NOT_PROVIDED = "NOTPROVIDED"  # ISO placeholder for a missing EndToEndId


@dataclass(frozen=True)
class MessageType:
    """What a camt message is called in the pipeline and in its XML."""

    code: str  # "053"
    element: str  # message element under Document, e.g. "BkToCstmrStmt"
    record: str  # repeated record element, e.g. "Stmt"
    kind: str  # Statement.kind

    @property
    def format_name(self) -> str:
        return f"camt.{self.code}"


MESSAGE_TYPES: dict[str, MessageType] = {
    "052": MessageType("052", "BkToCstmrAcctRpt", "Rpt", "report"),
    "053": MessageType("053", "BkToCstmrStmt", "Stmt", "statement"),
    "054": MessageType("054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "notification"),
}


def parse(data: bytes, name: str) -> ParsedFile:
    """Parse one camt.052/053/054 file into statements with entries, balances and checks.

    ``name`` is only used in messages. Raises ``ParseError`` (file, element path, reason) for
    anything that is not a well-formed, DTD-free camt document with the elements we rely on.
    """
    return _CamtReader(data, name).read()


# --------------------------------------------------------------------------- element helpers


def _local(el: Any) -> str:
    """Local name of an element ("" for comments and processing instructions)."""
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _namespace(el: Element) -> str:
    tag = el.tag
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return list(el.iterchildren("{*}" + name))


def _child(el: Element | None, *names: str) -> Element | None:
    """First element along a path of local names (``el`` itself for no names), or None."""
    node = el
    for name in names:
        if node is None:
            return None
        node = next(node.iterchildren("{*}" + name), None)
    return node


def _text(el: Element | None, *names: str) -> str | None:
    """Stripped text at a path of local names; None when absent or blank."""
    node = _child(el, *names)
    if node is None or node.text is None:
        return None
    text = node.text.strip()
    return text or None


def _has_children(el: Element) -> bool:
    return any(_local(c) for c in el)


def _line(data: bytes, pos: int) -> str:
    newline = b"\n"
    return f"line {data.count(newline, 0, pos) + 1}"


# --------------------------------------------------------------------------- scoped reading


@dataclass
class _Scope:
    """Reads values below ``base`` and names any failing element as an XPath-like location."""

    file: str
    base: Element
    base_loc: str

    def where(self, el: Element) -> str:
        parts: list[str] = []
        node: Element | None = el
        while node is not None and node is not self.base:
            parent = node.getparent()
            name = _local(node)
            if parent is not None:
                same = _children(parent, name)
                if len(same) > 1:
                    name += f"[{same.index(node) + 1}]"
            parts.append(name)
            node = parent
        return self.base_loc + "".join("/" + p for p in reversed(parts))

    def fail(self, el: Element, message: str, missing: str = "") -> ParseError:
        where = self.where(el) + (f"/{missing}" if missing else "")
        return ParseError(self.file, where, message)

    def require(self, el: Element, *names: str) -> Element:
        node = el
        for name in names:
            found = _child(node, name)
            if found is None:
                raise self.fail(node, f"missing required element {name}", missing=name)
            node = found
        return node

    def require_text(self, el: Element, *names: str) -> str:
        node = self.require(el, *names)
        text = (node.text or "").strip()
        if not text:
            raise self.fail(node, f"element {_local(node)} is empty")
        return text

    def amount(self, amt: Element) -> tuple[Decimal, str]:
        """An unsigned ``...CurrencyAndAmount`` element: exact Decimal plus its Ccy attribute."""
        text = (amt.text or "").strip()
        if not _AMOUNT_RE.match(text):
            raise self.fail(amt, f"not a valid amount: {text!r}")
        currency = (amt.get("Ccy") or "").strip()
        if not _CURRENCY_RE.match(currency):
            raise self.fail(amt, f"missing or invalid Ccy attribute: {currency!r}")
        return Decimal(text), currency

    def decimal(self, el: Element) -> Decimal:
        text = (el.text or "").strip()
        if not _DECIMAL_RE.match(text):
            raise self.fail(el, f"not a valid number: {text!r}")
        return Decimal(text)

    def count(self, el: Element) -> int:
        text = (el.text or "").strip()
        if not _COUNT_RE.match(text):
            raise self.fail(el, f"not a valid count: {text!r}")
        return int(text)

    def credit(self, el: Element) -> bool:
        """``CdtDbtInd`` under ``el``: True for CRDT, False for DBIT; it alone decides the sign."""
        indicator = self.require_text(el, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise self.fail(
                self.require(el, "CdtDbtInd"), f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}"
            )
        return indicator == "CRDT"

    def signed_amount(self, el: Element) -> tuple[Decimal, str, bool]:
        """``Amt`` + ``CdtDbtInd`` under ``el`` as a signed amount (credit positive)."""
        amount, currency = self.amount(self.require(el, "Amt"))
        is_credit = self.credit(el)
        return _signed(amount, is_credit), currency, is_credit

    def date_of(self, el: Element) -> date:
        """An ISODate or ISODateTime as the calendar date written in the file.

        A DtTm keeps its own local date rather than being moved to UTC: banks book in the
        account's time zone, and a late-evening booking belongs to that day's statement.
        """
        text = (el.text or "").strip()
        match = _DATE_RE.match(text)
        if not match:
            raise self.fail(el, f"not a valid date: {text!r}")
        try:
            return date.fromisoformat(match.group(1))
        except ValueError as exc:
            raise self.fail(el, f"not a valid date: {text!r}") from exc

    def date_choice(self, el: Element | None) -> date | None:
        """A ``DateAndDateTimeChoice`` (``Dt`` or ``DtTm``) or None when ``el`` is absent."""
        if el is None:
            return None
        inner = _child(el, "Dt")
        if inner is None:
            inner = _child(el, "DtTm")
        if inner is None:
            raise self.fail(el, "missing required element Dt or DtTm", missing="Dt")
        return self.date_of(inner)

    def flag(self, el: Element, name: str) -> bool:
        node = _child(el, name)
        if node is None:
            return False
        text = (node.text or "").strip()
        if text not in ("true", "false", "1", "0"):
            raise self.fail(node, f"not a boolean: {text!r}")
        return text in ("true", "1")


def _signed(amount: Decimal, is_credit: bool) -> Decimal:
    signed = amount if is_credit else -amount
    return abs(signed) if signed == 0 else signed  # never a "-0"


# --------------------------------------------------------------------------- entry details


@dataclass
class _Detail:
    """What one ``TxDtls`` contributes to its entry."""

    end_to_end_id: str | None = None
    acct_svcr_ref: str | None = None
    customer_reference: str | None = None
    check_number: str | None = None
    type_code: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    texts: list[str] = field(default_factory=list)
    refs: list[RemittanceRef] = field(default_factory=list)


def _account_ref(acct: Element | None) -> str | None:
    """IBAN, else Othr/Id, else the pre-2009 choices (PrtryAcct/Id, BBAN, UPIC)."""
    ident = _child(acct, "Id")
    if ident is None:
        return None
    for path in (("IBAN",), ("Othr", "Id"), ("PrtryAcct", "Id"), ("BBAN",), ("UPIC",)):
        value = _text(ident, *path)
        if value:
            return value
    return None


def _type_code(btc: Element | None) -> str | None:
    """BkTxCd as "Domn/Fmly/SubFmly" (ISO codes), else the proprietary code."""
    if btc is None:
        return None
    domain = _text(btc, "Domn", "Cd")
    family = _text(btc, "Domn", "Fmly", "Cd")
    sub_family = _text(btc, "Domn", "Fmly", "SubFmlyCd")
    if domain:
        return "/".join(p for p in (domain, family, sub_family) if p)
    return _text(btc, "Prtry", "Cd")


def _party_name(parties: Element | None, role: str) -> str | None:
    """Name of Dbtr/Cdtr in any version's shape, falling back to the ultimate party."""
    for tag in (role, "Ultmt" + role):
        party = _child(parties, tag)
        if party is None:
            continue
        for path in (("Nm",), ("Pty", "Nm"), ("Agt", "FinInstnId", "Nm"), ("FinInstnId", "Nm")):
            name = _text(party, *path)
            if name:
                return name
    return None


# --------------------------------------------------------------------------- the reader


@dataclass
class _Record:
    """State of the Stmt/Rpt/Ntfctn being streamed."""

    element: Element
    location: str
    entries: list[Entry] = field(default_factory=list)
    credit_marks: list[bool] = field(default_factory=list)  # CdtDbtInd per entry (0 amounts)
    entry_count: int = 0


class _CamtReader:
    """One pass over one file; see the module docstring for why it streams."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.message: MessageType | None = None
        self.version = 0
        self.message_element = ""
        self.statements: list[Statement] = []
        self.file_checks: list[Check] = []
        self.record: _Record | None = None
        self.record_count = 0
        self.seen_group_header = False

    # ---- entry point

    def read(self) -> ParsedFile:
        self._reject_doctype_bytes()
        self._sniff()
        assert self.message is not None
        try:
            for event, el in self._events():
                self._dispatch(event, el)
        except etree.XMLSyntaxError as exc:
            raise self._syntax_error(exc) from exc
        base = f"/Document/{self.message_element}"
        if not self.seen_group_header:
            raise ParseError(self.name, f"{base}/GrpHdr", "missing required element GrpHdr")
        if self.record_count == 0:
            record = self.message.record
            raise ParseError(
                self.name,
                f"{base}/{record}",
                f"missing required element {record}: a {self.message.format_name} message "
                f"must contain at least one {record}",
            )
        for idx, check in continuity_checks(self.statements):
            self.statements[idx].checks.append(check)
        return ParsedFile(
            file=self.name,
            format=self.message.format_name,
            statements=self.statements,
            checks=self.file_checks,
        )

    # ---- security and identification

    def _reject_doctype_bytes(self) -> None:
        """Refuse a DOCTYPE before any parser sees it; only the prolog can legally hold one."""
        if not self.data.strip():
            raise ParseError(self.name, "line 1", "empty file, not XML")
        first_tag = _FIRST_TAG_RE.search(self.data)
        prolog_end = first_tag.start() if first_tag else len(self.data)
        for marker in _DOCTYPE_MARKERS:
            pos = self.data.find(marker, 0, prolog_end)
            if pos >= 0:
                raise ParseError(
                    self.name,
                    _line(self.data, pos),
                    "DOCTYPE/ENTITY declarations are not allowed in camt files "
                    "(entity expansion and external entities are refused)",
                )

    def _reject_doctype_info(self, root: Element) -> None:
        """Second guard for encodings the byte scan cannot see (e.g. UTF-16)."""
        info = root.getroottree().docinfo
        if info.internalDTD is not None or info.externalDTD is not None or info.system_url:
            raise ParseError(
                self.name, "prolog", "DOCTYPE declarations are not allowed in camt files"
            )

    def _syntax_error(self, exc: etree.XMLSyntaxError) -> ParseError:
        line = exc.position[0] if exc.position else 1
        return ParseError(self.name, f"line {line}", f"not well-formed XML: {exc.msg}")

    def _sniff(self) -> None:
        """Read only the root and the message element: type, version and DTD checks."""
        events = etree.iterparse(io.BytesIO(self.data), events=("start",), **_SAFE_OPTIONS)
        try:
            root = self._next_start(events)
            if root is None:
                raise ParseError(self.name, "line 1", "no root element, not XML")
            self._reject_doctype_info(root)
            if _local(root) != "Document":
                raise ParseError(
                    self.name,
                    f"/{_local(root)}",
                    f"root element must be Document, not {_local(root)}",
                )
            namespace = _namespace(root)
            match = _NAMESPACE_RE.match(namespace)
            if not match:
                raise ParseError(
                    self.name,
                    "/Document",
                    f"not a camt.052/053/054 document (namespace {namespace or 'missing'!r})",
                )
            self.message = MESSAGE_TYPES[match.group(1)]
            self.version = int(match.group(2))
            if not MIN_VERSION <= self.version <= MAX_VERSION:
                raise ParseError(
                    self.name,
                    "/Document",
                    f"unsupported version {namespace.rsplit(':', 1)[-1]}; "
                    f"supported .001.{MIN_VERSION:02d} to .001.{MAX_VERSION:02d}",
                )
            message_el = self._next_start(events)
            expected = self.message.element
            allowed = (expected, f"{expected}V{self.version:02d}")
            if message_el is None or _local(message_el) not in allowed:
                found = _local(message_el) if message_el is not None else "nothing"
                raise ParseError(
                    self.name,
                    f"/Document/{found}",
                    f"expected {expected} in a {self.message.format_name} document, found {found}",
                )
            self.message_element = _local(message_el)
        except etree.XMLSyntaxError as exc:
            raise self._syntax_error(exc) from exc

    @staticmethod
    def _next_start(events: Iterator[tuple[str, Element]]) -> Element | None:
        for _event, el in events:
            return el
        return None

    def _events(self) -> Iterator[tuple[str, Element]]:
        tags = ["{*}GrpHdr", "{*}Ntry", *(f"{{*}}{t}" for t in _RECORD_TAGS)]
        return etree.iterparse(
            io.BytesIO(self.data), events=("start", "end"), tag=tags, **_SAFE_OPTIONS
        )

    # ---- streaming dispatch

    def _dispatch(self, event: str, el: Element) -> None:
        local = _local(el)
        if event == "start":
            if local == "Ntry":
                self._start_entry(el)
            elif local in _RECORD_TAGS:
                self._start_record(el)
            return
        if local == "Ntry":
            self._end_entry(el)
        elif local in _RECORD_TAGS:
            self._end_record(el)
        elif local == "GrpHdr":
            self._end_group_header(el)

    def _is_message_child(self, el: Element) -> bool:
        parent = el.getparent()
        return (
            parent is not None
            and _local(parent) == self.message_element
            and parent.getparent() is not None
            and parent.getparent().getparent() is None
        )

    def _start_record(self, el: Element) -> None:
        assert self.message is not None
        local = _local(el)
        if not self._is_message_child(el):
            if self.record is not None:
                return  # a same-named element deeper inside a record is not a record
            raise ParseError(self.name, f"/Document/.../{local}", f"unexpected {local} element")
        if local != self.message.record:
            raise ParseError(
                self.name,
                f"/Document/{self.message_element}/{local}",
                f"{local} is not allowed in a {self.message.format_name} message "
                f"(expected {self.message.record})",
            )
        self.record_count += 1
        location = f"/Document/{self.message_element}/{local}[{self.record_count}]"
        self.record = _Record(element=el, location=location)

    def _start_entry(self, el: Element) -> None:
        record = self.record
        if record is None or el.getparent() is not record.element:
            raise ParseError(self.name, "/Document/.../Ntry", "Ntry outside a statement")
        record.entry_count += 1

    def _end_entry(self, el: Element) -> None:
        record = self.record
        assert record is not None
        location = f"{record.location}/Ntry[{record.entry_count}]"
        entry, is_credit = self._parse_entry(_Scope(self.name, el, location))
        record.entries.append(entry)
        record.credit_marks.append(is_credit)
        # Free the entry and the entries before it; header siblings stay for the record's end.
        el.clear()
        parent = el.getparent()
        previous = el.getprevious()
        while parent is not None and previous is not None and _local(previous) in ("Ntry", ""):
            parent.remove(previous)
            previous = el.getprevious()

    def _end_record(self, el: Element) -> None:
        record = self.record
        if record is None or el is not record.element:
            return
        self.statements.append(self._parse_record(record))
        self.record = None
        el.clear()
        parent = el.getparent()
        while parent is not None and el.getprevious() is not None:
            del parent[0]

    def _end_group_header(self, el: Element) -> None:
        if not self._is_message_child(el):
            return
        self.seen_group_header = True
        scope = _Scope(self.name, el, f"/Document/{self.message_element}/GrpHdr")
        pagination = _child(el, "MsgPgntn")
        if pagination is not None:
            page = scope.require_text(pagination, "PgNb")
            last = scope.flag(pagination, "LastPgInd")
            self.file_checks.append(
                Check(
                    "pagination",
                    True,
                    f"message page {page}; last page: {'yes' if last else 'no'} (informational)",
                )
            )

    # ---- record (Stmt / Rpt / Ntfctn)

    def _parse_record(self, record: _Record) -> Statement:
        assert self.message is not None
        el = record.element
        scope = _Scope(self.name, el, record.location)
        acct = scope.require(el, "Acct")
        account = _account_ref(acct)
        if not account:
            raise scope.fail(acct, "account has no IBAN or Othr/Id", missing="Id")
        sequence = _text(el, "ElctrncSeqNb") or _text(el, "LglSeqNb")
        created = _child(el, "CreDtTm")
        period = _child(el, "FrToDt")
        from_date = to_date = created_on = None
        if period is not None:
            start = _child(period, "FrDtTm")
            end = _child(period, "ToDtTm")
            from_date = scope.date_of(start) if start is not None else None
            to_date = scope.date_of(end) if end is not None else None
        if created is not None:
            created_on = scope.date_of(created)
        balances, by_code = self._parse_balances(scope, el)
        opening = by_code.get("OPBD", by_code.get("PRCD"))
        closing = by_code.get(_CLOSING_CODE)
        # Without Acct/Ccy, the booked balances and entries say what the account is kept in.
        fallbacks = [b for b in (opening, closing) if b] + record.entries + balances
        currency = _text(acct, "Ccy") or (fallbacks[0].currency if fallbacks else None)
        stmt = Statement(
            account=account,
            currency=currency,
            date=created_on if period is None else None,
            from_date=from_date,
            to_date=to_date,
            sequence=sequence,
            kind=self.message.kind,
            opening_balance=opening.amount if opening else None,
            closing_balance=closing.amount if closing else None,
            balances=balances,
            entries=record.entries,
            location=record.location,
        )
        if "OPBD" in by_code and "PRCD" in by_code:
            opbd, prcd = by_code["OPBD"].amount, by_code["PRCD"].amount
            stmt.checks.append(
                Check("opening_balance", opbd == prcd, f"OPBD {fmt(opbd)}, PRCD {fmt(prcd)}")
            )
        stmt.checks.extend(self._summary_checks(scope, el, record))
        stmt.checks.append(balance_proof(stmt))
        currency_check = _currency_check(stmt)
        if currency_check is not None:
            stmt.checks.append(currency_check)
        return stmt

    def _parse_balances(
        self, scope: _Scope, el: Element
    ) -> tuple[list[Balance], dict[str, Balance]]:
        balances: list[Balance] = []
        by_code: dict[str, Balance] = {}
        for bal in _children(el, "Bal"):
            tp = scope.require(bal, "Tp")
            code = (
                _text(tp, "CdOrPrtry", "Cd")
                or _text(tp, "CdOrPrtry", "Prtry")
                or _text(tp, "Cd")
                or _text(tp, "Prtry")
            )
            if not code:
                raise scope.fail(tp, "balance type has no code", missing="CdOrPrtry/Cd")
            amount, currency, _ = scope.signed_amount(bal)
            as_of = scope.date_choice(scope.require(bal, "Dt"))
            if code in _OPENING_CODES:
                kind = "opening"
            elif code == _CLOSING_CODE:
                kind = "closing"
            else:
                kind = code
            balance = Balance(kind=kind, amount=amount, currency=currency, as_of=as_of)
            balances.append(balance)
            by_code.setdefault(code, balance)
        return balances, by_code

    def _summary_checks(self, scope: _Scope, el: Element, record: _Record) -> list[Check]:
        """TxsSummry control totals against the booked entries, when the bank states them."""
        summary = _child(el, "TxsSummry")
        if summary is None:
            return []
        booked = [
            (entry, is_credit)
            for entry, is_credit in zip(record.entries, record.credit_marks, strict=True)
            if entry.status == "BOOK"
        ]
        credits = [e.amount for e, is_credit in booked if is_credit]
        debits = [-e.amount for e, is_credit in booked if not is_credit]
        computed: dict[str, tuple[int, Decimal]] = {
            "TtlNtries": (len(booked), sum(credits, Decimal(0)) + sum(debits, Decimal(0))),
            "TtlCdtNtries": (len(credits), sum(credits, Decimal(0))),
            "TtlDbtNtries": (len(debits), sum(debits, Decimal(0))),
        }
        checks: list[Check] = []
        for group, (count, total) in computed.items():
            node = _child(summary, group)
            if node is None:
                continue
            stated_count = _child(node, "NbOfNtries")
            if stated_count is not None:
                checks.append(
                    total_check(f"TxsSummry/{group}/NbOfNtries", scope.count(stated_count), count)
                )
            stated_sum = _child(node, "Sum")
            if stated_sum is not None:
                checks.append(
                    total_check(f"TxsSummry/{group}/Sum", scope.decimal(stated_sum), total)
                )
        totals = _child(summary, "TtlNtries")
        net_stated = self._net_total(scope, totals)
        if net_stated is not None:
            net = sum((e.amount for e, _ in booked), Decimal(0))
            checks.append(total_check("TxsSummry/TtlNtries/TtlNetNtry", net_stated, net))
        return checks

    @staticmethod
    def _net_total(scope: _Scope, totals: Element | None) -> Decimal | None:
        """Net of all entries: TtlNetNtry/Amt (.04+) or TtlNetNtryAmt (.01-.03), signed."""
        if totals is None:
            return None
        holder = _child(totals, "TtlNetNtry")
        amount_el = _child(holder, "Amt") if holder is not None else None
        if holder is None:
            holder, amount_el = totals, _child(totals, "TtlNetNtryAmt")
        if amount_el is None:
            return None
        value = scope.decimal(amount_el)
        return _signed(value, scope.credit(holder))

    # ---- entry (Ntry)

    def _parse_entry(self, scope: _Scope) -> tuple[Entry, bool]:
        ntry = scope.base
        amount, currency, is_credit = scope.signed_amount(ntry)
        reversal = scope.flag(ntry, "RvslInd")
        status = self._status(scope, ntry)
        details = [
            self._parse_detail(scope, tx, is_credit != reversal)
            for container in (ntry, *_children(ntry, "NtryDtls"))
            for tx in _children(container, "TxDtls")
        ]
        single = details[0] if len(details) == 1 else _Detail()
        texts = [" ".join(d.texts) for d in details if d.texts]
        refs = [ref for d in details for ref in d.refs]
        entry = Entry(
            amount=amount,
            currency=currency,
            booking_date=scope.date_choice(_child(ntry, "BookgDt")),
            value_date=scope.date_choice(_child(ntry, "ValDt")),
            status=status,
            reversal=reversal,
            type_code=_type_code(_child(ntry, "BkTxCd")) or single.type_code,
            bank_reference=_text(ntry, "NtryRef"),
            customer_reference=single.customer_reference,
            end_to_end_id=single.end_to_end_id,
            acct_svcr_ref=_text(ntry, "AcctSvcrRef") or single.acct_svcr_ref,
            check_number=single.check_number,
            counterparty_name=single.counterparty_name,
            counterparty_account=single.counterparty_account,
            remittance_text=" | ".join(texts) or None,
            remittance=refs,
            details_count=max(1, len(details)),
            location=scope.base_loc,
        )
        return entry, is_credit

    @staticmethod
    def _status(scope: _Scope, ntry: Element) -> str:
        """``Sts`` is plain text up to .06 and ``Sts/Cd`` (or ``Sts/Prtry``) from .07."""
        sts = scope.require(ntry, "Sts")
        if _has_children(sts):
            status = _text(sts, "Cd") or _text(sts, "Prtry")
            if not status:
                raise scope.fail(sts, "entry status has no code", missing="Cd")
            return status
        return scope.require_text(ntry, "Sts")

    def _parse_detail(self, scope: _Scope, tx: Element, money_in: bool) -> _Detail:
        """References, counterparty and remittance of one TxDtls.

        ``money_in`` is the original direction of the payment (a reversal flips it), so the
        counterparty is the debtor of money received and the creditor of money paid.
        """
        refs = _child(tx, "Refs")
        end_to_end = _text(refs, "EndToEndId")
        parties = _child(tx, "RltdPties")
        role = "Dbtr" if money_in else "Cdtr"
        detail = _Detail(
            end_to_end_id=None if end_to_end == _NOT_PROVIDED else end_to_end,
            acct_svcr_ref=_text(refs, "AcctSvcrRef"),
            customer_reference=_text(refs, "AcctOwnrTxId") or _text(refs, "InstrId"),
            check_number=_text(refs, "ChqNb"),
            type_code=_type_code(_child(tx, "BkTxCd")),
            counterparty_name=_party_name(parties, role),
            counterparty_account=_account_ref(_child(parties, role + "Acct")),
        )
        for rmt in _children(tx, "RmtInf"):
            detail.texts.extend(t for u in _children(rmt, "Ustrd") if (t := _text(u)))
            for strd in _children(rmt, "Strd"):
                detail.refs.extend(self._structured_refs(scope, strd))
        return detail

    @staticmethod
    def _structured_refs(scope: _Scope, strd: Element) -> list[RemittanceRef]:
        """Invoice numbers (RfrdDocInf/Nb) and the creditor reference (CdtrRefInf/Ref)."""
        documents = _children(strd, "RfrdDocInf")
        doc_amount: Decimal | None = None
        amounts = _child(strd, "RfrdDocAmt")
        if amounts is not None and len(documents) == 1:
            for tag in ("RmtdAmt", "DuePyblAmt"):
                amt = _child(amounts, tag)
                if amt is not None:
                    doc_amount = scope.amount(amt)[0]
                    break
        refs = [
            RemittanceRef(number, doc_amount, "invoice")
            for doc in documents
            if (number := _text(doc, "Nb"))
        ]
        creditor_ref = _text(strd, "CdtrRefInf", "Ref")
        if creditor_ref:
            refs.append(RemittanceRef(creditor_ref, None, "creditor_reference"))
        return refs


def _currency_check(stmt: Statement) -> Check | None:
    """Balances and entries must share the account currency, or sums mean nothing."""
    if stmt.currency is None:
        return None
    odd = [
        f"{b.kind} balance in {b.currency}" for b in stmt.balances if b.currency != stmt.currency
    ]
    odd += [
        f"{e.location.rsplit('/', 1)[-1]} in {e.currency}"
        for e in stmt.entries
        if e.currency != stmt.currency
    ]
    if not odd:
        return Check("currency", True, f"all balances and entries in {stmt.currency}")
    shown = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
    return Check("currency", False, f"statement currency {stmt.currency}; {shown}")
