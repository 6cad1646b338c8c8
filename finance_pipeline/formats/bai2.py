"""Strict BAI2 parser (BAI Cash Management Balance Reporting Specification, version 2).

Written by hand because the published Python BAI2 libraries reject or misread the
specification's own sample. Strict by default: records must come in the order the spec
prescribes (01, then per group 02, per account 03 / 16... / 49, then 98, and finally 99), every
amount must be numeric, every record other than a 16 must end with ``/``, and a file without a
99 trailer is refused. Each of these raises ``ParseError`` naming the file and the line.
Trailer totals and counts that do not match the data are not errors: they become failing
``Check`` objects, so a reconciliation run can report them next to the data.

How the records are read:
- A logical record is one physical line plus the 88 continuation lines after it. Its fields are
  read as one comma-separated stream, because the spec lets a field group (an 03 summary group,
  the fields of a 16) break between a record and its 88 at any field boundary.
- The text of a 16 record is not ``/``-terminated: it runs to the end of the line and on through
  the 88s, which are joined with one space. Banks often close it with ``/`` anyway, so one
  trailing ``/`` is dropped; other slashes and all commas are kept as text.

Tolerated, because each is unambiguous and occurs in real bank files:
- CRLF or LF line ends, no final newline, trailing spaces, a UTF-8 byte order mark.
- In an 03, a stray empty field just before ``/`` (``...,,,/``, with or without an 88 after
  it), and an empty field group (four empty fields) where no summary is given.
- In a 16 and its 88s, a ``/`` inside a reference field: there only a ``/`` that ends the line
  closes the record (the text field may hold slashes anyway).
- A record code followed by ``:`` instead of ``,`` (``88:EREF...`` in a Goldman Sachs sample):
  read as a comma, but listed in ``ParsedFile.errors`` so the file is not ``ok``.

``lenient=True`` reads two kinds of damaged file that strict mode refuses (moov-io's sample3):
several records on one physical line, each closed by ``/`` (``...,2/   02,...``), and a line
without a record code that continues an unclosed 16 (a wrapped line). Both rely on guessing where
a record ends, so they are never applied by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from finance_pipeline.formats.model import (
    Balance,
    Check,
    Entry,
    ParsedFile,
    ParseError,
    Statement,
    balance_proof,
    continuity_checks,
    total_check,
)
from finance_pipeline.money import from_minor, is_currency

FORMAT = "bai2"

# An omitted currency code means US dollars (the spec's default). An 03 without a currency
# uses its group's, and a group without one uses this.
DEFAULT_CURRENCY = "USD"

_RECORD_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_RECORD_START = re.compile(r"(\d{2})([,:])")
_LENIENT_BREAK = re.compile(r"/\s*(?=(?:01|02|03|16|49|88|98|99),)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SIGNED = re.compile(r"[+-]?\d+")
_UNSIGNED = re.compile(r"\+?\d+")
_DIGITS = re.compile(r"\d+")
_TYPE_CODE = re.compile(r"\d{3}")
_YYMMDD = re.compile(r"\d{6}")
_TIME = re.compile(r"\d{4}|")

# Funds types without extra fields: immediate, one-day, two-or-more-day, unknown.
# S adds three amounts, V a value date and time, D a count then (days, amount) pairs.
_PLAIN_FUNDS = frozenset({"0", "1", "2", "Z"})

# Direction of a 16 record comes from its type code, never from a sign (16 amounts are
# unsigned). Ranges of the spec's Appendix A type codes (as catalogued by moov-io/bai2 and in
# Oracle's BAI2 notes for the customised 900-999 block):
#   100-399 credit detail and summary codes       -> credit (+)
#   400-699 debit detail and summary codes        -> debit (-)
#   720-728 loan payments applied (credits)       -> credit (+)
#   760     loan disbursement (debit)             -> debit (-)
#   920-959 customised credit codes               -> credit (+)
#   960-999 customised debit codes                -> debit (-)
# Anything else (001-099 and 900-919 are account status codes, 701-709 loan status, 890
# "contains non-monetary information", unassigned codes) has no direction. Such a 16 is kept
# with status "INFO" and its amount as written, so it is visible but stays out of the balance
# proof instead of being guessed into a credit or a debit.
_CREDIT_RANGES = ((100, 399), (720, 728), (920, 959))
_DEBIT_RANGES = ((400, 699), (760, 760), (960, 999))
# 03 codes that report a balance (status codes) rather than a total of credits or debits.
_STATUS_RANGES = ((1, 99), (701, 719), (900, 919))
# Codes whose customer reference is a check serial number (check paid, certified check debit,
# check reversal).
_CHECK_TYPE_CODES = frozenset({"395", "474", "475"})
_BALANCE_KINDS = {"010": "opening", "015": "closing"}

_EXPECTED = {
    "start": "a 01 file header",
    "file": "a 02 group header or the 99 file trailer",
    "group": "a 03 account identifier or the 98 group trailer",
    "account": "a 16 transaction detail or the 49 account trailer",
    "end": "nothing after the 99 file trailer",
}


def parse(data: bytes, name: str, *, lenient: bool = False) -> ParsedFile:
    """Parse a BAI2 file into one ``account_day`` statement per 03 record.

    ``lenient`` also reads files with several records on one line (see the module docstring);
    leave it off for bank files, so that damage is reported instead of guessed around.
    """
    return _Parser(name, lenient).run(data)


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _direction(type_code: str) -> int:
    """+1 for a credit type code, -1 for a debit, 0 when the code carries no direction."""
    code = int(type_code)
    if _in_ranges(code, _CREDIT_RANGES):
        return 1
    if _in_ranges(code, _DEBIT_RANGES):
        return -1
    return 0


def _decode(data: bytes) -> str:
    """BAI2 is ASCII; accept UTF-8 and fall back to Latin-1 so one odd byte is not fatal."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.removeprefix("\ufeff")


@dataclass
class _Segment:
    """One physical piece of a logical record: the record line itself or an 88 continuation."""

    text: str  # everything after "NN,"
    line: int
    counted: bool = True  # False for a wrapped line joined in lenient mode: not a record


@dataclass
class _Record:
    """A record with its 88 continuations, which trailer record counts include one by one."""

    code: str
    segments: list[_Segment]

    @property
    def line(self) -> int:
        return self.segments[0].line

    @property
    def count(self) -> int:
        return sum(1 for segment in self.segments if segment.counted)


@dataclass(frozen=True)
class _Field:
    value: str
    line: int
    closed: bool  # the record's closing "/" came right after this field


class _FieldReader:
    """Reads the fields of a record and its 88 continuations as one stream.

    In a 16 (``text_record``) only a ``/`` at the very end of a line closes it, so slashes in
    references survive; everywhere else the first ``/`` closes the record and anything after it
    is an error.
    """

    def __init__(self, record: _Record, file: str, *, text_record: bool) -> None:
        self._record = record
        self._segments = record.segments
        self._file = file
        self._text_record = text_record
        self._index = 0
        self._pos = 0
        self._exhausted = False  # no more fields in the current segment
        self._closed = [False] * len(record.segments)

    def _error(self, line: int, message: str) -> ParseError:
        return ParseError(self._file, f"line {line}", message)

    def _current(self) -> _Segment | None:
        if self._exhausted:
            self._index += 1
            self._pos = 0
            self._exhausted = False
        if self._index >= len(self._segments):
            return None
        return self._segments[self._index]

    def _closing_slash(self, text: str) -> int:
        if self._text_record:
            end = len(text.rstrip()) - 1
            return end if end >= self._pos and text[end] == "/" else -1
        return text.find("/", self._pos)

    def next(self) -> _Field | None:
        """The next field, or None when the record and its continuations are used up."""
        segment = self._current()
        if segment is None:
            return None
        text = segment.text
        comma = text.find(",", self._pos)
        slash = self._closing_slash(text)
        if slash != -1 and (comma == -1 or slash < comma):
            tail = text[slash + 1 :].strip()
            if tail:
                raise self._error(
                    segment.line,
                    f"unexpected text after the closing '/': {tail[:40]!r} "
                    "(several records on one line are read only with lenient=True)",
                )
            value = text[self._pos : slash]
            self._exhausted = True
            self._closed[self._index] = True
            return _Field(value, segment.line, closed=True)
        if comma != -1:
            value = text[self._pos : comma]
            self._pos = comma + 1
            return _Field(value, segment.line, closed=False)
        self._exhausted = True
        return _Field(text[self._pos :], segment.line, closed=False)

    def required(self, label: str) -> _Field:
        found = self.next()
        if found is None:
            raise self._error(
                self._segments[-1].line,
                f"{self._record.code} record ends before its {label}",
            )
        return found

    def rest_text(self) -> str:
        """The 16 text: the rest of this line and every continuation, joined with a space."""
        parts: list[str] = []
        if self._index < len(self._segments):
            if not self._exhausted:
                parts.append(self._segments[self._index].text[self._pos :])
            parts.extend(segment.text for segment in self._segments[self._index + 1 :])
        self._index = len(self._segments)
        self._exhausted = False
        pieces: list[str] = []
        for part in parts:
            piece = part.strip()
            if piece.endswith("/"):
                piece = piece[:-1].rstrip()
            if piece:
                pieces.append(piece)
        return " ".join(pieces)

    def finish(self) -> None:
        """Refuse extra fields and lines not closed by ``/`` (all records but the 16)."""
        while (extra := self.next()) is not None:
            if extra.value.strip() or not extra.closed:
                raise self._error(
                    extra.line,
                    f"unexpected extra field {extra.value!r} in {self._record.code} record",
                )
        for segment, closed in zip(self._segments, self._closed, strict=True):
            if not closed:
                raise self._error(segment.line, f"{self._record.code} record does not end with '/'")


@dataclass
class _Group:
    line: int
    as_of: date
    currency: str
    total: int = 0
    records: int = 0
    accounts: int = 0


@dataclass
class _Account:
    statement: Statement
    total: int = 0
    records: int = 0


class _Parser:
    """One parse of one file: splits records, walks them in order and builds the checks."""

    def __init__(self, name: str, lenient: bool) -> None:
        self.name = name
        self.lenient = lenient
        self.errors: list[str] = []
        self.statements: list[Statement] = []
        self.checks: list[Check] = []
        self.group: _Group | None = None
        self.account: _Account | None = None
        self.file_total = 0
        self.file_records = 0
        self.groups = 0

    def error(self, line: int, message: str) -> ParseError:
        return ParseError(self.name, f"line {line}", message)

    # -- physical lines to logical records -------------------------------------------------

    def split_records(self, text: str) -> Iterator[_Record]:
        """Logical records in file order, each yielded once its 88s are read.

        Lazy, so that a damaged line is reported only after every earlier record has been
        checked: the error names the first problem in the file.
        """
        lines = _LINE_BREAK.split(text)
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        if last < 0:
            raise self.error(1, "empty file: missing 01 file header")
        pending: _Record | None = None
        for index, raw in enumerate(lines[: last + 1]):
            number = index + 1
            line = raw.rstrip()
            if not line:
                raise self.error(number, "blank line inside the file")
            for piece in self.pieces(line):
                record = self.read_piece(pending, piece, number)
                if record is not pending:
                    if pending is not None:
                        yield pending
                    pending = record
        if pending is not None:
            yield pending

    def pieces(self, line: str) -> list[str]:
        """The records on one physical line: always one, unless lenient splits at ``/``."""
        if not self.lenient:
            return [line]
        pieces: list[str] = []
        start = 0
        for match in _LENIENT_BREAK.finditer(line):
            pieces.append(line[start : match.start() + 1])
            start = match.end()
        pieces.append(line[start:])
        return pieces

    def read_piece(self, pending: _Record | None, piece: str, number: int) -> _Record:
        """Start a new record, or add a continuation to ``pending`` and return it."""
        match = _RECORD_START.match(piece)
        if match is None or match.group(1) not in _RECORD_CODES:
            if match is None and self.lenient and _wraps_open_detail(pending):
                assert pending is not None
                pending.segments.append(_Segment(piece, number, counted=False))
                return pending
            if pending is None:
                raise self.error(
                    number, f"missing 01 file header: the file starts with {piece[:16]!r}"
                )
            if match is not None:
                raise self.error(number, f"unknown record code {match.group(1)!r}")
            raise self.error(
                number,
                f"not a BAI2 record (no two-digit record code and ','): {piece[:40]!r}",
            )
        code, separator = match.groups()
        if separator == ":":
            self.errors.append(
                f"line {number}: record code {code} is followed by ':' instead of ','; read as ','"
            )
        segment = _Segment(piece[3:], number)
        if code != "88":
            return _Record(code, [segment])
        if pending is None:
            raise self.error(number, "88 continuation before the 01 file header")
        pending.segments.append(segment)
        return pending

    # -- record order ------------------------------------------------------------------------

    def run(self, data: bytes) -> ParsedFile:
        records = self.split_records(_decode(data))
        state = "start"
        handlers = {
            "01": ("start", "file", self.file_header),
            "02": ("file", "group", self.group_header),
            "03": ("group", "account", self.account_identifier),
            "16": ("account", "account", self.transaction_detail),
            "49": ("account", "group", self.account_trailer),
            "98": ("group", "file", self.group_trailer),
            "99": ("file", "end", self.file_trailer),
        }
        record: _Record | None = None
        for record in records:
            allowed, following, handler = handlers[record.code]
            if state != allowed:
                if state == "start":
                    raise self.error(
                        record.line,
                        f"missing 01 file header: the file starts with a {record.code} record",
                    )
                raise self.error(
                    record.line,
                    f"{record.code} record out of order: expected {_EXPECTED[state]}",
                )
            self.file_records += record.count
            handler(record)
            state = following
        if state != "end":
            assert record is not None
            last_line = record.segments[-1].line
            raise self.error(
                last_line,
                f"file ends here without a 99 file trailer (truncated?); "
                f"expected {_EXPECTED[state]}",
            )
        for index, check in continuity_checks(self.statements):
            self.statements[index].checks.append(check)
        return ParsedFile(
            file=self.name,
            format=FORMAT,
            statements=self.statements,
            checks=self.checks,
            errors=self.errors,
        )

    # -- fields ------------------------------------------------------------------------------

    def reader(self, record: _Record) -> _FieldReader:
        return _FieldReader(record, self.name, text_record=record.code == "16")

    def minor(
        self, field: _Field, label: str, *, signed: bool = True, blank: bool = False
    ) -> int | None:
        """An amount in minor units as written (BAI2 never writes a decimal point)."""
        value = field.value.strip()
        if not value:
            if blank:
                return None
            raise self.error(field.line, f"{label} is missing")
        if not (_SIGNED if signed else _UNSIGNED).fullmatch(value):
            if not signed and _SIGNED.fullmatch(value):
                raise self.error(
                    field.line,
                    f"{label} {value!r} has a sign; 16 amounts are unsigned "
                    "(the type code gives the direction)",
                )
            raise self.error(field.line, f"{label} {value!r} is not a number")
        return int(value)

    def count(self, field: _Field, label: str) -> int | None:
        value = field.value.strip()
        if not value:
            return None
        if not _DIGITS.fullmatch(value):
            raise self.error(field.line, f"{label} {value!r} is not a number")
        return int(value)

    def as_date(self, field: _Field, label: str) -> date:
        value = field.value.strip()
        if not _YYMMDD.fullmatch(value):
            raise self.error(field.line, f"{label} {value!r} is not a YYMMDD date")
        year, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
        # Two-digit years: 70-99 are 1970-1999, 00-69 are 2000-2069.
        year += 2000 if year < 70 else 1900
        try:
            return date(year, month, day)
        except ValueError:
            raise self.error(field.line, f"{label} {value!r} is not a valid date") from None

    def currency(self, field: _Field | None, default: str) -> str:
        value = field.value.strip() if field is not None else ""
        if not value:
            return default
        if not is_currency(value):
            assert field is not None
            raise self.error(field.line, f"unknown currency code {value!r}")
        return value

    def type_code(self, field: _Field) -> str:
        value = field.value.strip()
        if not _TYPE_CODE.fullmatch(value):
            raise self.error(field.line, f"type code {value!r} is not three digits")
        return value

    def funds(self, field: _Field | None, reader: _FieldReader) -> tuple[str | None, date | None]:
        """Read a funds type and the fields it brings; returns (funds type, value date)."""
        code = field.value.strip() if field is not None else ""
        if field is None or not code:
            return None, None
        if code in _PLAIN_FUNDS:
            return code, None
        if code == "S":
            for label in ("immediate", "one-day", "two-or-more-day"):
                self.minor(reader.required(f"{label} availability"), f"{label} amount", blank=True)
            return code, None
        if code == "V":
            value_date = self.as_date(reader.required("value date"), "value date")
            time = reader.next()
            if time is not None and not _TIME.fullmatch(time.value.strip()):
                raise self.error(time.line, f"value time {time.value!r} is not HHMM")
            return code, value_date
        if code == "D":
            pairs = self.count(reader.required("distribution count"), "distribution count")
            if pairs is None:
                raise self.error(field.line, "funds type D without a distribution count")
            for _ in range(pairs):
                days = reader.required("distribution days")
                if not _DIGITS.fullmatch(days.value.strip()):
                    raise self.error(days.line, f"distribution days {days.value!r} not a number")
                self.minor(reader.required("distribution amount"), "distribution amount")
            return code, None
        raise self.error(field.line, f"unknown funds type {code!r}")

    def stated_total(self, name: str, record: _Record, stated: int | None, computed: int) -> Check:
        base = total_check(name, stated, computed)
        return Check(base.name, base.ok, f"{record.code} at line {record.line}: {base.detail}")

    # -- records -----------------------------------------------------------------------------

    def file_header(self, record: _Record) -> None:
        reader = self.reader(record)
        for label in ("sender identification", "receiver identification"):
            if not reader.required(label).value.strip():
                raise self.error(record.line, f"01 file header without {label}")
        self.as_date(reader.required("file creation date"), "file creation date")
        for label in ("file creation time", "file identification number"):
            reader.required(label)
        for label in ("physical record length", "block size"):
            self.count(reader.required(label), label)
        version = reader.required("version number")
        if version.value.strip() != "2":
            raise self.error(
                version.line, f"version number {version.value!r}: only BAI2 (version 2) is read"
            )
        reader.finish()

    def group_header(self, record: _Record) -> None:
        reader = self.reader(record)
        reader.required("ultimate receiver identification")
        if not reader.required("originator identification").value.strip():
            raise self.error(record.line, "02 group header without originator identification")
        status = reader.required("group status")
        if status.value.strip() not in {"1", "2", "3", "4"}:
            raise self.error(status.line, f"group status {status.value!r} is not 1, 2, 3 or 4")
        as_of = self.as_date(reader.required("as-of date"), "as-of date")
        reader.next()  # as-of time: reference only
        currency = self.currency(reader.next(), DEFAULT_CURRENCY)
        reader.next()  # as-of date modifier
        reader.finish()
        self.group = _Group(line=record.line, as_of=as_of, currency=currency, records=record.count)
        self.groups += 1

    def account_identifier(self, record: _Record) -> None:
        assert self.group is not None
        reader = self.reader(record)
        account = reader.required("customer account number").value.strip()
        if not account:
            raise self.error(record.line, "03 record without an account number")
        currency = self.currency(reader.next(), self.group.currency)
        statement = Statement(
            account=account,
            currency=currency,
            date=self.group.as_of,
            kind="account_day",
            location=f"line {record.line}",
        )
        total = 0
        for type_code, minor in self.summary(reader):
            if minor is None:
                continue
            total += minor
            if not _in_ranges(int(type_code), _STATUS_RANGES):
                continue  # credit/debit totals: part of the control total, not a balance
            amount = from_minor(minor, currency)
            kind = _BALANCE_KINDS.get(type_code, type_code)
            if any(b.kind == kind for b in statement.balances):
                raise self.error(record.line, f"03 record states type code {type_code} twice")
            statement.balances.append(Balance(kind, amount, currency, self.group.as_of))
            if kind == "opening":
                statement.opening_balance = amount
            elif kind == "closing":
                statement.closing_balance = amount
        reader.finish()
        self.account = _Account(statement=statement, total=total, records=record.count)
        self.statements.append(statement)

    def summary(self, reader: _FieldReader) -> list[tuple[str, int | None]]:
        """The 03 field groups: type code, amount, item count, funds type (+ its fields)."""
        items: list[tuple[str, int | None]] = []
        while (start := reader.next()) is not None:
            if not start.value.strip() and start.closed:
                continue  # stray ",/" (before an 88 or at the end): no group starts here
            amount = reader.required("summary amount")
            count = reader.required("summary item count")
            funds = reader.required("summary funds type")
            if not start.value.strip():
                if amount.value.strip() or count.value.strip() or funds.value.strip():
                    raise self.error(start.line, "03 summary field group without a type code")
                continue  # an empty group, written by some banks when nothing is reported
            type_code = self.type_code(start)
            minor = self.minor(amount, f"amount for type code {type_code}", blank=True)
            self.count(count, f"item count for type code {type_code}")
            self.funds(funds, reader)
            items.append((type_code, minor))
        return items

    def transaction_detail(self, record: _Record) -> None:
        assert self.group is not None and self.account is not None
        statement = self.account.statement
        currency = statement.currency or DEFAULT_CURRENCY
        reader = self.reader(record)
        type_code = self.type_code(reader.required("type code"))
        minor = self.minor(reader.required("amount"), "16 amount", signed=False)
        assert minor is not None
        funds, value_date = self.funds(reader.next(), reader)
        bank_field, customer_field = reader.next(), reader.next()
        bank_reference = bank_field.value.strip() if bank_field else ""
        customer_reference = customer_field.value.strip() if customer_field else ""
        text = reader.rest_text()
        direction = _direction(type_code)
        amount = from_minor(minor, currency)
        entry = Entry(
            amount=-amount if direction < 0 else amount,
            currency=currency,
            booking_date=self.group.as_of,
            value_date=value_date,
            status="BOOK" if direction else "INFO",
            type_code=type_code,
            bank_reference=bank_reference or None,
            customer_reference=customer_reference or None,
            check_number=(customer_reference or None if type_code in _CHECK_TYPE_CODES else None),
            remittance_text=text or None,
            funds_type=funds,
            location=f"line {record.line}",
        )
        statement.entries.append(entry)
        self.account.total += minor
        self.account.records += record.count

    def account_trailer(self, record: _Record) -> None:
        assert self.group is not None and self.account is not None
        reader = self.reader(record)
        stated_total = self.minor(
            reader.required("account control total"), "account control total", blank=True
        )
        stated_records = self.count(reader.required("number of records"), "number of records")
        reader.finish()
        account = self.account
        account.records += record.count
        statement = account.statement
        statement.checks.append(balance_proof(statement))
        statement.checks.append(
            self.stated_total("account_control_total", record, stated_total, account.total)
        )
        statement.checks.append(
            self.stated_total("account_record_count", record, stated_records, account.records)
        )
        self.group.total += account.total
        self.group.records += account.records
        self.group.accounts += 1
        self.account = None

    def group_trailer(self, record: _Record) -> None:
        assert self.group is not None
        reader = self.reader(record)
        total = self.minor(
            reader.required("group control total"), "group control total", blank=True
        )
        accounts = self.count(reader.required("number of accounts"), "number of accounts")
        records = self.count(reader.required("number of records"), "number of records")
        reader.finish()
        group = self.group
        group.records += record.count
        self.checks.append(self.stated_total("group_control_total", record, total, group.total))
        self.checks.append(
            self.stated_total("group_account_count", record, accounts, group.accounts)
        )
        self.checks.append(self.stated_total("group_record_count", record, records, group.records))
        self.file_total += group.total
        self.group = None

    def file_trailer(self, record: _Record) -> None:
        reader = self.reader(record)
        total = self.minor(reader.required("file control total"), "file control total", blank=True)
        groups = self.count(reader.required("number of groups"), "number of groups")
        records = self.count(reader.required("number of records"), "number of records")
        reader.finish()
        self.checks.append(self.stated_total("file_control_total", record, total, self.file_total))
        self.checks.append(self.stated_total("file_group_count", record, groups, self.groups))
        self.checks.append(
            self.stated_total("file_record_count", record, records, self.file_records)
        )


def _wraps_open_detail(record: _Record | None) -> bool:
    """Lenient mode: a line without a record code continues a 16 whose line was not closed."""
    if record is None or record.code != "16":
        return False
    return not record.segments[-1].text.rstrip().endswith("/")
