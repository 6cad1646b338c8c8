"""SWIFT MT940 (customer statement) and MT942 (interim transaction report) parser.

Written by hand because the files are small, bank dialects differ in the details, and a strict
pipeline must know exactly what it accepts. The parser is strict on structure and money
(field order, mandatory fields, amounts, dates, currencies) and tolerant of transport noise
(SWIFT ``{1:..}{2:..}{4:`` blocks, ``-}`` trailers, SOH/ETX, bank header lines, blank lines).
Free-text problems (characters outside printable ASCII) do not stop the parse but fail a
file-level ``charset`` check, so the file is held for review instead of silently accepted.

Layout of one message (``[]`` optional, ``*`` repeatable)::

    :20: [:21:] :25: :28C: :60F:|:60M: (:61: [:86:])* :62F:|:62M: [:64:] [:65:]* [:86:]   MT940
    :20: [:21:] :25: :28C: :34F: [:34F:] :13D: (:61: [:86:])* [:90D:] [:90C:] [:86:]      MT942
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

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
from finance_pipeline.money import CURRENCY_CODES, MoneyError, exponent, parse_decimal

__all__ = [
    "BalanceField",
    "Field",
    "FieldError",
    "Information",
    "StatementLine",
    "parse",
    "parse_balance",
    "parse_information",
    "parse_statement_line",
    "tokenize",
]

KNOWN_TAGS = frozenset(
    {"20", "21", "25", "28", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65"}
    | {"34F", "13", "13D", "90D", "90C"}
)
# Position of each tag in a message; a field may not come before one of lower rank.
_RANK = {
    "20": 0, "21": 1, "25": 2, "28": 3, "28C": 3,
    "60F": 4, "60M": 4, "34F": 4, "13": 5, "13D": 5,
    "61": 6, "62F": 7, "62M": 7, "90D": 7, "90C": 8, "64": 8, "65": 9,
}  # fmt: skip
_END_RANK = 10  # after a statement-level :86:, the message must end
_REPEATABLE = frozenset({"61", "65", "34F"})
_CONTINUABLE = frozenset({"61", "86"})
_BALANCE_KINDS = {
    "60F": "opening",
    "60M": "intermediate_opening",
    "62F": "closing",
    "62M": "intermediate_closing",
    "64": "closing_available",
    "65": "forward_available",
}
_TAG_RE = re.compile(r"^:(?P<tag>[0-9]{2}[A-Z]?):(?P<value>.*)$")
_MESSAGE_TYPE_RE = re.compile(r"^:9[0-9]{2}:$")  # Rabobank writes ":940:" before the message
_AMOUNT_RE = re.compile(r"^[0-9]+(,[0-9]*)?$")
_BALANCE_RE = re.compile(r"^(?P<mark>[DC])(?P<date>[0-9]{6})(?P<currency>[A-Z]{3})(?P<amount>.*)$")
_STATEMENT_NUMBER_RE = re.compile(r"^(?P<number>[0-9]{1,5})(?:/(?P<page>[0-9]{1,5}))?$")
_FLOOR_RE = re.compile(r"^(?P<currency>[A-Z]{3})(?P<mark>[DC]?)(?P<amount>.*)$")
_SUM_RE = re.compile(r"^(?P<count>[0-9]{1,5})(?P<currency>[A-Z]{3})(?P<amount>.*)$")
_DATETIME_RE = re.compile(r"^(?P<date>[0-9]{6})(?P<time>[0-9]{4})(?P<offset>[+-][0-9]{4})?$")
_ENTRY_HEAD_RE = re.compile(r"^(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?")
_MARK_RE = re.compile(r"^(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?")
_TYPE_RE = re.compile(r"^[NFS][A-Z0-9]{3}")
_SEPA_KEYWORDS = (
    "EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC", "COAM", "OAMT",
)  # fmt: skip
_SEPA_RE = re.compile(r"^(?P<key>" + "|".join(_SEPA_KEYWORDS) + r")\+")
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED"})


class FieldError(ValueError):
    """A field's content is invalid; ``parse`` re-raises it as ``ParseError`` with the line."""


@dataclass(frozen=True)
class Field:
    """One tagged field with its continuation lines; ``lines`` are the file lines it spans.

    ``tag`` is ``"-"`` for an end-of-message marker (``-``, ``-}``), whose value is empty.
    """

    tag: str
    value: str
    lines: tuple[int, ...]

    @property
    def line(self) -> int:
        return self.lines[0]


@dataclass(frozen=True)
class BalanceField:
    """A :60a:/:62a:/:64:/:65: balance: signed amount (debit balance negative)."""

    mark: str
    date: date
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class StatementLine:
    """A parsed :61: statement line; ``amount`` is signed by its mark (RC negative, RD positive)."""

    value_date: date
    entry_date: date | None
    mark: str
    reversal: bool
    funds_code: str | None
    amount: Decimal
    type_code: str
    customer_reference: str | None
    bank_reference: str | None
    supplementary_details: str | None


@dataclass(frozen=True)
class Information:
    """A parsed :86: field: the text to match on, and what the structured forms reveal."""

    text: str | None
    structured: bool = False
    subfields: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, str] = field(default_factory=dict)
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None


# --------------------------------------------------------------------------------------------
# Field-level parsers (public so single fields and bank fragments can be checked on their own)
# --------------------------------------------------------------------------------------------


def _yymmdd(text: str) -> date:
    """SWIFT dates carry two-digit years; 80-99 are read as 19xx, the rest as 20xx."""
    year = int(text[0:2])
    year += 1900 if year >= 80 else 2000
    try:
        return date(year, int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise FieldError(f"not a valid YYMMDD date: {text!r}") from exc


def _amount(text: str, currency: str | None) -> Decimal:
    """SWIFT amounts use a decimal comma and no sign; a missing comma means a whole amount."""
    if not _AMOUNT_RE.match(text):
        raise FieldError(f"not a SWIFT amount (digits with a decimal comma): {text!r}")
    try:
        value = parse_decimal(text, decimal_sep=",")
    except MoneyError as exc:
        raise FieldError(str(exc)) from exc
    if currency is not None and currency in CURRENCY_CODES:
        decimals = len(text.partition(",")[2])
        if decimals > exponent(currency):
            raise FieldError(f"amount {text!r} has more decimals than {currency} allows")
    return value


def _currency(code: str) -> str:
    if code not in CURRENCY_CODES:
        raise FieldError(f"unknown currency code {code!r}")
    return code


def parse_balance(value: str) -> BalanceField:
    """Parse a balance field (``C140829EUR000000000147,64``): mark, YYMMDD, currency, amount."""
    match = _BALANCE_RE.match(value.strip())
    if not match:
        raise FieldError(f"not a balance (D/C, YYMMDD, currency, amount): {value!r}")
    currency = _currency(match["currency"])
    amount = _amount(match["amount"], currency)
    signed = -amount if match["mark"] == "D" else amount
    return BalanceField(match["mark"], _yymmdd(match["date"]), currency, signed)


def _entry_date(value_date: date, mmdd: str) -> date:
    """The entry date has no year: take the one closest to the value date (Dec/Jan rollover)."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    candidates: list[date] = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise FieldError(f"not a valid MMDD entry date: {mmdd!r}")
    return min(candidates, key=lambda d: abs(d - value_date))


def _reference(text: str) -> str | None:
    cleaned = text.strip()
    return None if cleaned.upper() in _NO_REFERENCE else cleaned


def parse_statement_line(value: str, currency: str | None = None) -> StatementLine:
    """Parse a :61: field; ``currency`` enables the decimals and funds-code checks.

    Layout: value date YYMMDD, [entry date MMDD], mark D/C/RC/RD, [funds code], amount,
    type (N/F/S + 3), customer reference (16x) [//bank reference], [newline details (34x)].
    """
    lines = value.split("\n")
    if len(lines) > 2:
        raise FieldError(":61: has more than one supplementary details line")
    text = lines[0]
    head = _ENTRY_HEAD_RE.match(text)
    if not head:
        raise FieldError(f"no YYMMDD value date at the start of :61: {text!r}")
    value_date = _yymmdd(head["value_date"])
    entry_date = _entry_date(value_date, head["entry_date"]) if head["entry_date"] else None
    rest = text[head.end() :]
    mark_match = _MARK_RE.match(rest)
    if not mark_match:
        raise FieldError(f"no debit/credit mark (D, C, RC, RD) in :61: {text!r}")
    mark, funds = mark_match["mark"], mark_match["funds"]
    rest = rest[mark_match.end() :]
    amount_match = re.match(r"^[0-9][0-9,.]*", rest)
    if not amount_match:
        raise FieldError(f"no amount in :61: {text!r}")
    amount = _amount(amount_match.group(), currency)
    rest = rest[amount_match.end() :]
    type_match = _TYPE_RE.match(rest)
    if not type_match:
        raise FieldError(f"no transaction type (N/F/S + 3 characters) in :61: {text!r}")
    type_code = type_match.group()
    rest = rest[type_match.end() :]
    if currency is not None and funds is not None and funds != currency[2]:
        raise FieldError(f"funds code {funds!r} is not the third letter of {currency}")
    # Customer reference: up to 16 characters, ended by "//" before the bank reference.
    slash = rest.find("//")
    same_line_details = ""
    if 0 <= slash <= 16:
        customer, bank = rest[:slash], rest[slash + 2 :]
    else:
        # Rabobank writes supplementary details on the same line after a 16-character reference.
        customer, bank, same_line_details = rest[:16], "", rest[16:]
    details = lines[1] if len(lines) == 2 else ""
    if same_line_details.strip() and details.strip():
        raise FieldError(":61: has supplementary details both on its line and on the next")
    details = (details or same_line_details).strip()
    if mark in ("D", "RC"):  # a debit, or the reversal of a credit, takes money out
        amount = -amount
    return StatementLine(
        value_date=value_date,
        entry_date=entry_date,
        mark=mark,
        reversal=mark.startswith("R"),
        funds_code=funds,
        amount=amount,
        type_code=type_code,
        customer_reference=_reference(customer),
        bank_reference=_reference(bank),
        supplementary_details=details or None,
    )


def _split_subfields(joined: str, separator: str) -> list[tuple[str, str]]:
    """``166?00TEXT?20MORE`` -> [("00", "TEXT"), ("20", "MORE")] after the 3-digit code."""
    parts = re.split(re.escape(separator) + r"([0-9]{2})", joined[3:])
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def parse_information(value: str) -> Information:
    """Parse a :86: field.

    German-style structured content (``NNN?00..?20..?29..?32..``, also Triodos' ``>``) is split
    into subfields; purpose lines ?20-?29 and ?60-?63 are joined without separators because
    banks cut them at a fixed width, mid-word. SEPA keywords at the start of a purpose subfield
    (``EREF+``, ``SVWZ+``...) are separated; ``SVWZ+`` becomes the text, ``EREF+`` the
    end-to-end id. Anything else is free text: lines right-trimmed and joined with newlines.
    """
    raw_lines = value.split("\n")
    joined = "".join(raw_lines)
    if len(joined) >= 6 and joined[:3].isdigit() and joined[3] in "?>" and joined[4:6].isdigit():
        subfields = _split_subfields(joined, joined[3])
        by_code: dict[str, str] = {}
        purpose: list[str] = []
        keywords: dict[str, str] = {}
        current_key: str | None = None
        for code, content in subfields:
            by_code[code] = by_code.get(code, "") + content
            if not ("20" <= code <= "29" or "60" <= code <= "63"):
                continue
            purpose.append(content)
            keyword = _SEPA_RE.match(content)
            if keyword:
                current_key = keyword["key"]
                keywords[current_key] = keywords.get(current_key, "") + content[keyword.end() :]
            elif current_key is not None:
                keywords[current_key] += content
        purpose_text = "".join(purpose).strip()
        text = keywords["SVWZ"].strip() if keywords.get("SVWZ", "").strip() else purpose_text
        name = (by_code.get("32", "") + by_code.get("33", "")).strip()
        e2e = keywords.get("EREF")
        return Information(
            text=text or None,
            structured=True,
            subfields=by_code,
            keywords=keywords,
            end_to_end_id=_reference(e2e) if e2e is not None else None,
            counterparty_name=name or None,
            counterparty_account=by_code.get("31", "").strip() or None,
        )
    lines = [line.rstrip() for line in raw_lines]
    text = "\n".join(line for line in lines if line).strip()
    return Information(text=text or None)


# --------------------------------------------------------------------------------------------
# Tokenizer: bytes -> tagged fields, tolerant of the transport envelope
# --------------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str | None]:
    """UTF-8 if it decodes, else Latin-1 (which always does); the note says which was used."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("latin-1"), "not valid UTF-8, read as Latin-1"


def _scan(text: str, name: str) -> tuple[list[Field], list[tuple[int, str]]]:
    """Split text into fields; also return (line, character) pairs outside printable ASCII."""
    fields: list[Field] = []
    odd: list[tuple[int, str]] = []
    tag: str | None = None
    values: list[str] = []
    lines: list[int] = []

    def flush() -> None:
        nonlocal tag, values, lines
        if tag is not None:
            fields.append(Field(tag, "\n".join(values), tuple(lines)))
        tag, values, lines = None, [], []

    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = raw.lstrip("\x01").rstrip("\x03")  # SOH / ETX around a FIN message
        odd.extend((number, ch) for ch in line if not " " <= ch <= "~")
        if line.startswith("{"):
            # SWIFT basic/application header blocks; block 4 holds the message text.
            if "{4:" not in line:
                if tag is not None:
                    raise ParseError(name, f"line {number}", "SWIFT block header inside a field")
                continue
            line = line.split("{4:", 1)[1]
        if not line.strip():
            continue
        if line.startswith("-"):  # end of message: "-", "-}", "-}{5:...}", ING's "-XXX"
            flush()
            fields.append(Field("-", "", (number,)))
            continue
        if line.startswith(":"):
            match = _TAG_RE.match(line)
            if match is None:
                if tag is None and _MESSAGE_TYPE_RE.match(line.strip()):
                    continue
                raise ParseError(name, f"line {number}", f"not a SWIFT field tag: {line[:12]!r}")
            if match["tag"] not in KNOWN_TAGS:
                raise ParseError(name, f"line {number}", f"unknown tag :{match['tag']}:")
            flush()
            tag, values, lines = match["tag"], [match["value"]], [number]
            continue
        if tag is None:
            continue  # bank header outside a message ("ABNANL2A", "940", "0000 01INGB...")
        values.append(line)
        lines.append(number)
    flush()
    return fields, odd


def tokenize(data: bytes, name: str) -> list[Field]:
    """The fields of an MT940/MT942 file in order, envelope removed; no structure checks."""
    text, _ = _decode(data)
    return _scan(text, name)[0]


# --------------------------------------------------------------------------------------------
# Statement assembly
# --------------------------------------------------------------------------------------------


@dataclass
class _Builder:
    """Collects one message's fields in order and enforces the MT940/MT942 layout."""

    file: str
    start: int
    reference: str
    kind: str | None = None  # "statement" (MT940) or "report" (MT942)
    rank: int = 0
    last_tag: str = "20"
    account: str | None = None
    account_currency: str | None = None
    sequence: str | None = None
    sequence_seen: bool = False
    balances: dict[str, BalanceField] = field(default_factory=dict)
    forward: list[BalanceField] = field(default_factory=list)
    floor_limits: list[tuple[str, str, Decimal]] = field(default_factory=list)
    report_date: date | None = None
    sums: dict[str, tuple[int, str, Decimal, int]] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    info_86: list[str] = field(default_factory=list)
    entry_info_open: bool = False

    def error(self, line: int, message: str) -> ParseError:
        return ParseError(self.file, f"line {line}", message)

    @property
    def currency(self) -> str | None:
        opening = self.balances.get("60F") or self.balances.get("60M")
        if opening is not None:
            return opening.currency
        return self.floor_limits[0][0] if self.floor_limits else None

    def add(self, fld: Field) -> None:
        tag, line = fld.tag, fld.line
        if tag == "86":
            self._add_86(fld)
            return
        self._flush_86()
        rank = _RANK[tag]
        if rank < self.rank or (rank == self.rank and tag not in _REPEATABLE):
            raise self.error(line, f"field :{tag}: out of order after :{self.last_tag}:")
        if tag not in _CONTINUABLE and len(fld.lines) > 1:
            raise self.error(fld.lines[1], f"field :{tag}: cannot continue on a second line")
        try:
            self._field(fld)
        except FieldError as exc:
            raise self.error(line, f":{tag}: {exc}") from None
        self.rank, self.last_tag = rank, tag

    def _set_kind(self, kind: str, fld: Field) -> None:
        if self.kind is not None and self.kind != kind:
            other = "MT942" if kind == "statement" else "MT940"
            raise self.error(fld.line, f"field :{fld.tag}: does not belong in an {other} message")
        self.kind = kind

    def _field(self, fld: Field) -> None:
        tag, value = fld.tag, fld.value.strip()
        if tag == "21":
            return  # related reference: nothing in the model needs it
        if tag == "25":
            self._account(value)
        elif tag in ("28", "28C"):
            match = _STATEMENT_NUMBER_RE.match(value)
            if not match:
                raise FieldError(f"not a statement number [/sequence]: {value!r}")
            # Banks that do not number statements write zeros (Rabobank 00000/00, ING 000).
            self.sequence = None if int(match["number"]) == 0 else value
            self.sequence_seen = True
        elif tag in ("60F", "60M", "62F", "62M", "64", "65"):
            self._set_kind("statement", fld)
            balance = parse_balance(value)
            if tag == "65":
                self.forward.append(balance)
            else:
                self.balances[tag] = balance
        elif tag == "61":
            self._entry(fld)
        elif tag == "34F":
            self._set_kind("report", fld)
            if len(self.floor_limits) == 2:
                raise FieldError("more than two floor limits")
            match = _FLOOR_RE.match(value)
            if not match:
                raise FieldError(f"not a floor limit (currency, [D/C], amount): {value!r}")
            currency = _currency(match["currency"])
            self.floor_limits.append((currency, match["mark"], _amount(match["amount"], currency)))
        elif tag in ("13", "13D"):
            self._set_kind("report", fld)
            match = _DATETIME_RE.match(value)
            if not match:
                raise FieldError(f"not a date-time YYMMDDhhmm[+hhmm]: {value!r}")
            self.report_date = _yymmdd(match["date"])
        elif tag in ("90D", "90C"):
            self._set_kind("report", fld)
            match = _SUM_RE.match(value)
            if not match:
                raise FieldError(f"not a count, currency and sum: {value!r}")
            currency = _currency(match["currency"])
            amount = _amount(match["amount"], currency)
            self.sums[tag] = (int(match["count"]), currency, amount, fld.line)

    def _account(self, value: str) -> None:
        if not value:
            raise FieldError("empty account identification")
        # Legacy German/Dutch form "BLZ/ACCOUNT" or "1291.99.348" may end in the currency.
        suffix = re.match(r"^(?P<account>.*[0-9])(?P<currency>[A-Z]{3})$", value)
        if suffix and suffix["currency"] in CURRENCY_CODES:
            self.account, self.account_currency = suffix["account"], suffix["currency"]
        else:
            self.account = value

    def _entry(self, fld: Field) -> None:
        if self.kind is None:
            raise FieldError("statement line without a preceding :60F:/:60M: opening balance")
        currency = self.currency
        line = parse_statement_line(fld.value, currency)
        remittance = []
        if line.supplementary_details:
            remittance.append(RemittanceRef(line.supplementary_details, None, "text"))
        self.entries.append(
            Entry(
                amount=line.amount,
                currency=currency or "",
                booking_date=line.entry_date or line.value_date,
                value_date=line.value_date,
                status="BOOK",
                reversal=line.reversal,
                type_code=line.type_code,
                bank_reference=line.bank_reference,
                customer_reference=line.customer_reference,
                remittance=remittance,
                location=f"line {fld.line}",
            )
        )

    def _add_86(self, fld: Field) -> None:
        if self.last_tag == "61" or self.entry_info_open:
            # Rabobank writes several :86: fields after one :61:; they describe the same entry.
            self.info_86.append(fld.value)
            self.entry_info_open = True
            self.last_tag = "86"
            return
        if self.rank >= _RANK["62F"] or (self.kind == "report" and self.rank >= _RANK["13D"]):
            # Information for the account owner about the whole statement: no entry to attach
            # it to and no field in the model, so it is read past; nothing may follow it.
            self.rank, self.last_tag = _END_RANK, "86"
            return
        raise self.error(fld.line, "field :86: must follow a :61: or the closing balance")

    def _flush_86(self) -> None:
        if not self.info_86:
            return
        info = parse_information("\n".join(self.info_86))
        entry = self.entries[-1]
        entry.remittance_text = info.text
        entry.end_to_end_id = info.end_to_end_id
        entry.counterparty_name = info.counterparty_name
        entry.counterparty_account = info.counterparty_account
        self.info_86, self.entry_info_open = [], False

    def finish(self) -> Statement:
        self._flush_86()
        where = self.start
        if self.account is None:
            raise self.error(where, "statement has no :25: account identification")
        if not self.sequence_seen:
            raise self.error(where, "statement has no :28C: statement number")
        if self.kind is None:
            raise self.error(where, "statement has neither :60F:/:60M: nor :34F:/:13D:")
        if self.kind == "statement":
            return self._finish_statement()
        return self._finish_report()

    def _currency_check(self, stated: list[tuple[str, str]]) -> Check:
        if self.account_currency:
            stated = [(":25:", self.account_currency), *stated]
        codes = {code for _, code in stated}
        detail = ", ".join(f"{label} {code}" for label, code in stated)
        return Check("currency", len(codes) <= 1, detail)

    def _finish_statement(self) -> Statement:
        opening_tag = "60F" if "60F" in self.balances else "60M"
        closing_tag = "62F" if "62F" in self.balances else "62M"
        if opening_tag not in self.balances:
            raise self.error(self.start, "statement has no :60F:/:60M: opening balance")
        if closing_tag not in self.balances:
            raise self.error(self.start, "statement has no :62F:/:62M: closing balance")
        opening, closing = self.balances[opening_tag], self.balances[closing_tag]
        balances = [
            Balance(_BALANCE_KINDS[tag], b.amount, b.currency, b.date)
            for tag, b in self.balances.items()
        ]
        balances += [
            Balance("forward_available", b.amount, b.currency, b.date) for b in self.forward
        ]
        stmt = Statement(
            account=self.account or "",
            currency=opening.currency,
            date=closing.date,
            from_date=opening.date,
            to_date=closing.date,
            sequence=self.sequence,
            kind="statement",
            reference=self.reference,
            opening_balance=opening.amount,
            closing_balance=closing.amount,
            balances=balances,
            entries=self.entries,
            location=f"line {self.start}",
        )
        stated = [(f":{tag}:", b.currency) for tag, b in self.balances.items()]
        stated += [(":65:", b.currency) for b in self.forward]
        stmt.checks.append(balance_proof(stmt))
        stmt.checks.append(self._currency_check(stated))
        return stmt

    def _finish_report(self) -> Statement:
        if not self.floor_limits:
            raise self.error(self.start, "MT942 report has no :34F: floor limit")
        if self.report_date is None:
            raise self.error(self.start, "MT942 report has no :13D: date-time indication")
        currency = self.floor_limits[0][0]
        balances = []
        for index, (code, mark, amount) in enumerate(self.floor_limits):
            if len(self.floor_limits) == 1:
                kind = "floor_limit"
            else:
                side = mark or ("D" if index == 0 else "C")
                kind = "debit_floor_limit" if side == "D" else "credit_floor_limit"
            balances.append(Balance(kind, amount, code, self.report_date))
        stmt = Statement(
            account=self.account or "",
            currency=currency,
            date=self.report_date,
            sequence=self.sequence,
            kind="report",
            reference=self.reference,
            balances=balances,
            entries=self.entries,
            location=f"line {self.start}",
        )
        debits = [e for e in self.entries if e.amount < 0]
        credits = [e for e in self.entries if e.amount >= 0]
        for tag, label, group in (("90D", "debit", debits), ("90C", "credit", credits)):
            count, _, stated_sum, _ = self.sums.get(tag, (None, None, None, None))
            total = sum((abs(e.amount) for e in group), Decimal(0))
            stmt.checks.append(total_check(f"{label}_count", count, len(group)))
            stmt.checks.append(total_check(f"{label}_sum", stated_sum, total))
        stated_currencies = [(":34F:", code) for code, _, _ in self.floor_limits]
        stated_currencies += [(f":{tag}:", s[1]) for tag, s in self.sums.items()]
        stmt.checks.append(self._currency_check(stated_currencies))
        return stmt


def _charset_check(odd: list[tuple[int, str]], note: str | None) -> Check:
    """SWIFT text is printable ASCII; anything else suggests re-encoding or corruption."""
    if not odd and note is None:
        return Check("charset", True, "printable ASCII only")
    by_line: dict[int, list[str]] = {}
    for line, ch in odd:
        by_line.setdefault(line, [])
        if ch not in by_line[line]:
            by_line[line].append(ch)
    parts = [
        f"line {line}: " + " ".join(f"U+{ord(ch):04X}" for ch in chars)
        for line, chars in list(by_line.items())[:10]
    ]
    if len(by_line) > 10:
        parts.append(f"and {len(by_line) - 10} more lines")
    if note:
        parts.insert(0, note)
    return Check("charset", False, "characters outside printable ASCII: " + "; ".join(parts))


def parse(data: bytes, name: str) -> ParsedFile:
    """Parse an MT940 or MT942 file into statements with balance, currency and sequence checks.

    Raises ``ParseError`` naming the line for anything that makes the money ambiguous: unknown
    tags, fields out of order, missing mandatory fields, bad amounts, dates or currencies.
    """
    text, note = _decode(data)
    fields, odd = _scan(text, name)
    builders: list[_Builder] = []
    current: _Builder | None = None
    ended_at: int | None = None
    for fld in fields:
        if fld.tag == "-":
            if current is None and ended_at is None:
                raise ParseError(name, f"line {fld.line}", "end-of-message marker before any :20:")
            current, ended_at = None, fld.line
            continue
        if fld.tag == "20":
            reference = fld.value.strip()
            if not reference or len(fld.lines) > 1:
                raise ParseError(name, f"line {fld.line}", ":20: must be one non-empty line")
            current = _Builder(file=name, start=fld.line, reference=reference)
            builders.append(current)
            continue
        if current is None:
            after = f" (message ended at line {ended_at})" if ended_at else ""
            raise ParseError(name, f"line {fld.line}", f"field :{fld.tag}: before :20:{after}")
        current.add(fld)
    if not builders:
        raise ParseError(name, "line 1", "no :20: statement found")
    statements = [b.finish() for b in builders]
    kinds = {s.kind for s in statements}
    if len(kinds) > 1:
        report = next(s for s in statements if s.kind == "report")
        raise ParseError(name, report.location, "file mixes MT940 statements and MT942 reports")
    for index, check in continuity_checks(statements):
        statements[index].checks.append(check)
    return ParsedFile(
        file=name,
        format="mt942" if kinds == {"report"} else "mt940",
        statements=statements,
        checks=[_charset_check(odd, note)],
    )
