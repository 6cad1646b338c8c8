"""BAI lockbox (fixed width) and CSV lockbox parsers.

Lockbox files list the checks a bank received and deposited for us, in batches. Field positions
vary from bank to bank, so they live in a YAML layout (``lockbox_layouts/bai_lockbox.yaml`` is
the preset) and the parser only knows record types and what the fields mean:

    1 header, 2 service, then per lockbox: (5 batch header, (6 check, 4 overflow*)*,
    7 batch total)*, 8 lockbox total; 9 trailer

Each batch becomes a ``Statement(kind="batch")``; each check (record 6) an ``Entry`` with the
invoice numbers of its overflow records (4) as remittance. Control totals (7, 8, 9) become
checks; anything that makes a record unreadable raises ``ParseError`` naming the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from finance_pipeline.formats.model import (
    Check,
    Entry,
    ParsedFile,
    ParseError,
    RemittanceRef,
    Statement,
    total_check,
)
from finance_pipeline.money import MoneyError, from_minor, is_currency, parse_decimal, to_minor

__all__ = [
    "CSV_FIELDS",
    "FieldSpec",
    "LayoutError",
    "LockboxLayout",
    "RecordSpec",
    "layout_from_dict",
    "load_layout",
    "parse",
    "parse_csv",
    "preset_layout",
]

FIELD_TYPES = frozenset({"numeric", "text", "amount", "yymmdd", "mmddyy", "hhmm"})
_DATE_TYPES = frozenset({"yymmdd", "mmddyy"})
# Record types the parser needs, and the fields it reads from each (with the types they need).
_REQUIRED: dict[str, dict[str, frozenset[str]]] = {
    "1": {},
    "5": {"lockbox_number": frozenset({"numeric", "text"}), "deposit_date": _DATE_TYPES},
    "6": {"amount": frozenset({"amount"})},
    "7": {"item_count": frozenset({"numeric"}), "total_amount": frozenset({"amount"})},
    "8": {"item_count": frozenset({"numeric"}), "total_amount": frozenset({"amount"})},
    "9": {"record_count": frozenset({"numeric"})},
}
_OPTIONAL_RECORDS: dict[str, dict[str, frozenset[str]]] = {
    "2": {},
    "4": {"invoice": frozenset({"text", "numeric"})},
}
# Fields the parser reads when a layout has them; their type is constrained too.
_OPTIONAL_FIELD_TYPES: dict[str, frozenset[str]] = {
    "batch_number": frozenset({"numeric", "text"}),
    "item_number": frozenset({"numeric", "text"}),
    "check_number": frozenset({"numeric", "text"}),
    "routing_number": frozenset({"numeric", "text"}),
    "account_number": frozenset({"numeric", "text"}),
    "remitter_name": frozenset({"text"}),
    "invoice_amount": frozenset({"amount"}),
    "deposit_date": _DATE_TYPES,
    "lockbox_number": frozenset({"numeric", "text"}),
}
# Which record types may follow which; "" is the start of the file.
_NEXT: dict[str, frozenset[str]] = {
    "": frozenset("1"),
    "1": frozenset("25"),
    "2": frozenset("25"),
    "5": frozenset("67"),
    "6": frozenset("467"),
    "4": frozenset("467"),
    "7": frozenset("58"),
    "8": frozenset("259"),
    "9": frozenset(),
}
CSV_FIELDS = frozenset(
    {"check_number", "amount", "invoice", "payer", "account", "date", "batch", "lockbox"}
)


class LayoutError(ValueError):
    """A lockbox layout (or CSV mapping) is unusable; the message names the file and key."""


@dataclass(frozen=True)
class FieldSpec:
    """One fixed-width field: 1-based inclusive positions, as bank specifications print them."""

    name: str
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class RecordSpec:
    code: str
    name: str
    fields: tuple[FieldSpec, ...]

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)


@dataclass(frozen=True)
class LockboxLayout:
    """Field positions per record type, the currency of the amounts, and where it came from."""

    name: str
    currency: str
    records: Mapping[str, RecordSpec]
    source: str = ""


# --------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------


def layout_from_dict(data: Any, source: str) -> LockboxLayout:
    """Validate a layout mapping (as read from YAML); errors name ``source`` and the key."""

    def fail(key: str, message: str) -> LayoutError:
        return LayoutError(f"{source}: {key}: {message}")

    if not isinstance(data, dict):
        raise fail("(top level)", "must be a mapping with name, currency and records")
    unknown = set(data) - {"name", "currency", "records"}
    if unknown:
        raise fail(sorted(map(str, unknown))[0], "unknown key (expected name, currency, records)")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise fail("name", "missing or not a string")
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not is_currency(currency):
        raise fail("currency", f"not an ISO 4217 currency code: {currency!r}")
    records_raw = data.get("records")
    if not isinstance(records_raw, dict):
        raise fail("records", "missing or not a mapping of record type to fields")
    records: dict[str, RecordSpec] = {}
    for code_raw, spec in records_raw.items():
        code = str(code_raw)
        key = f"records.{code}"
        if len(code) != 1 or not code.isalnum():
            raise fail(key, "record type must be one character")
        if not isinstance(spec, dict):
            raise fail(key, "must be a mapping with name and fields")
        extra = set(spec) - {"name", "fields"}
        if extra:
            raise fail(f"{key}.{sorted(map(str, extra))[0]}", "unknown key (expected name, fields)")
        fields_raw = spec.get("fields")
        if not isinstance(fields_raw, dict):
            raise fail(f"{key}.fields", "missing or not a mapping of field name to positions")
        fields: list[FieldSpec] = []
        for fname, pos in fields_raw.items():
            fkey = f"{key}.fields.{fname}"
            if (
                not isinstance(pos, list)
                or len(pos) != 3
                or not all(isinstance(p, int) and not isinstance(p, bool) for p in pos[:2])
            ):
                raise fail(fkey, "must be [start, end, type] with 1-based inclusive positions")
            start, end, ftype = pos
            if start < 2 or end < start:
                raise fail(fkey, f"positions {start}-{end}: need 2 <= start <= end (1 = type)")
            if ftype not in FIELD_TYPES:
                raise fail(
                    fkey, f"unknown type {ftype!r} (one of {', '.join(sorted(FIELD_TYPES))})"
                )
            fields.append(FieldSpec(str(fname), start, end, ftype))
        ordered = sorted(fields, key=lambda f: f.start)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start <= before.end:
                raise fail(f"{key}.fields.{after.name}", f"overlaps {before.name}")
        record = RecordSpec(code, str(spec.get("name") or code), tuple(fields))
        needed = {**_REQUIRED, **_OPTIONAL_RECORDS}.get(code, {})
        for fname in needed:
            if not record.has(fname):
                raise fail(f"{key}.fields.{fname}", "missing (the parser needs it)")
        for fspec in fields:
            allowed = needed.get(fspec.name) or _OPTIONAL_FIELD_TYPES.get(fspec.name)
            if allowed and fspec.type not in allowed:
                raise fail(
                    f"{key}.fields.{fspec.name}",
                    f"type must be one of {', '.join(sorted(allowed))}",
                )
        records[code] = record
    for code in _REQUIRED:
        if code not in records:
            raise fail(f"records.{code}", "missing (record types 1, 5, 6, 7, 8, 9 are required)")
    return LockboxLayout(name=name, currency=currency, records=records, source=source)


def load_layout(path: str | Path) -> LockboxLayout:
    """Read and validate a layout YAML file; ``LayoutError`` names the file and the bad key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read layout: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LayoutError(f"{path}: not valid YAML: {exc}") from exc
    return layout_from_dict(data, str(path))


@cache
def preset_layout(name: str = "bai_lockbox") -> LockboxLayout:
    """A layout shipped with the package (``lockbox_layouts/<name>.yaml``)."""
    resource = resources.files("finance_pipeline.formats") / "lockbox_layouts" / f"{name}.yaml"
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LayoutError(f"{name}: no such preset lockbox layout") from exc
    return layout_from_dict(yaml.safe_load(text), f"lockbox_layouts/{name}.yaml")


# --------------------------------------------------------------------------------------------
# Fixed-width BAI lockbox
# --------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _yy(text: str) -> int:
    year = int(text)
    return year + (1900 if year >= 80 else 2000)


def _read_fields(
    record: RecordSpec, line: str, number: int, file: str, currency: str
) -> dict[str, Any]:
    """Cut a record into typed values; text fields may be cut short by trimmed trailing blanks."""
    where = f"line {number}"
    values: dict[str, Any] = {}
    for spec in record.fields:
        if len(line) < spec.end and spec.type != "text":
            raise ParseError(
                file,
                where,
                f"record {record.code} is {len(line)} characters long; field {spec.name} "
                f"needs positions {spec.start}-{spec.end}",
            )
        raw = line[spec.start - 1 : spec.end]
        value: Any
        if spec.type == "text":
            value = raw.strip()
        elif spec.type == "amount":
            if not raw.isdigit() or not raw.isascii():
                raise ParseError(file, where, f"field {spec.name} is not an amount: {raw!r}")
            value = from_minor(int(raw), currency)
        elif not raw.strip():
            value = None  # blank numeric/date field: not stated
        elif not raw.isdigit() or not raw.isascii():
            raise ParseError(file, where, f"field {spec.name} is not numeric: {raw!r}")
        elif spec.type == "numeric":
            value = raw
        else:
            try:
                if spec.type == "yymmdd":
                    value = date(_yy(raw[0:2]), int(raw[2:4]), int(raw[4:6]))
                elif spec.type == "mmddyy":
                    value = date(_yy(raw[4:6]), int(raw[0:2]), int(raw[2:4]))
                else:  # hhmm
                    value = time(int(raw[0:2]), int(raw[2:4]))
            except (ValueError, IndexError) as exc:
                raise ParseError(
                    file, where, f"field {spec.name} is not a valid {spec.type}: {raw!r}"
                ) from exc
        values[spec.name] = value
    return values


def _check_number(raw: str | None) -> str | None:
    """Check numbers are zero-padded to the field width; the number on the check has none."""
    if raw is None or not raw.strip():
        return None
    stripped = raw.strip().lstrip("0")
    return stripped or "0"


def _item_reference(values: dict[str, Any]) -> str | None:
    """``<batch>-<item>`` (zero-padded to three digits) when the layout carries both."""
    batch, item = values.get("batch_number"), values.get("item_number")
    if batch is None or item is None:
        return None
    return f"{int(batch):03d}-{int(item):03d}"


def _counterparty_account(values: dict[str, Any]) -> str | None:
    parts = [values.get("routing_number"), values.get("account_number")]
    present = [p for p in parts if p]
    return "/".join(present) if present else None


@dataclass
class _Batch:
    statement: Statement
    header: dict[str, Any]
    batch_numbers: set[str] = field(default_factory=set)
    last_item: str | None = None
    last_batch: str | None = None


def parse(data: bytes, name: str, layout: LockboxLayout | None = None) -> ParsedFile:
    """Parse a fixed-width BAI lockbox file; ``layout`` defaults to the bai_lockbox preset."""
    layout = layout or preset_layout()
    currency = layout.currency
    lines = re.split(r"\r\n|\r|\n", _decode(data))
    records = [(n, line.rstrip("\x1a")) for n, line in enumerate(lines, 1) if line.strip()]
    if not records:
        raise ParseError(name, "line 1", "empty file: no lockbox header record (type 1)")
    statements: list[Statement] = []
    file_checks: list[Check] = []
    previous = ""
    batch: _Batch | None = None
    batch_totals: list[tuple[int, Decimal]] = []  # stated 7 counts and totals since the last 8
    for number, line in records:
        code = line[0]
        where = f"line {number}"
        record = layout.records.get(code)
        if record is None:
            raise ParseError(name, where, f"unknown record type {code!r}")
        if code not in _NEXT[previous]:
            after = f"after record {previous}" if previous else "at the start of the file"
            raise ParseError(name, where, f"record {code} out of order {after}")
        previous = code
        values = _read_fields(record, line, number, name, currency)
        if code == "5":
            if values.get("lockbox_number") is None or values.get("deposit_date") is None:
                raise ParseError(name, where, "batch header without lockbox number or deposit date")
            stmt = Statement(
                account=str(values["lockbox_number"]),
                currency=currency,
                date=values["deposit_date"],
                sequence=values.get("batch_number"),
                kind="batch",
                location=where,
            )
            statements.append(stmt)
            batch = _Batch(stmt, values)
        elif code == "6":
            assert batch is not None  # guaranteed by _NEXT
            if values.get("batch_number") is not None:
                batch.batch_numbers.add(values["batch_number"])
            batch.last_item, batch.last_batch = (
                values.get("item_number"),
                values.get("batch_number"),
            )
            batch.statement.entries.append(
                Entry(
                    amount=values["amount"],
                    currency=currency,
                    booking_date=batch.statement.date,
                    status="BOOK",
                    check_number=_check_number(values.get("check_number")),
                    # The batch and item numbers identify a check within the lockbox file.
                    bank_reference=_item_reference(values),
                    counterparty_account=_counterparty_account(values),
                    counterparty_name=values.get("remitter_name") or None,
                    location=where,
                )
            )
        elif code == "4":
            assert batch is not None and batch.statement.entries
            for key, expected in (
                ("item_number", batch.last_item),
                ("batch_number", batch.last_batch),
            ):
                got = values.get(key)
                if got is not None and expected is not None and got != expected:
                    label = key.replace("_number", "")
                    raise ParseError(
                        name, where, f"overflow record for {label} {got} follows {label} {expected}"
                    )
            invoice = values.get("invoice")
            if invoice:
                batch.statement.entries[-1].remittance.append(
                    RemittanceRef(str(invoice), values.get("invoice_amount"), "invoice")
                )
        elif code == "7":
            assert batch is not None
            _close_batch(batch, values, where)
            batch_totals.append((int(values["item_count"]), values["total_amount"]))
            batch = None
        elif code == "8":
            stated_count, stated_total = int(values["item_count"]), values["total_amount"]
            count = sum(c for c, _ in batch_totals)
            total = sum((t for _, t in batch_totals), from_minor(0, currency))
            for check in (
                total_check("lockbox_count", stated_count, count),
                total_check("lockbox_total", stated_total, total),
            ):
                file_checks.append(Check(check.name, check.ok, f"{where}: {check.detail}"))
            batch_totals = []
        elif code == "9":
            check = total_check("record_count", int(values["record_count"]), len(records))
            file_checks.append(Check(check.name, check.ok, f"{where}: {check.detail}"))
    if previous != "9":
        raise ParseError(name, f"line {records[-1][0]}", "file ends without trailer record 9")
    return ParsedFile(file=name, format="lockbox", statements=statements, checks=file_checks)


def _close_batch(batch: _Batch, total: dict[str, Any], where: str) -> None:
    """Record 7 states the batch's count and total; compare them with the checks listed."""
    stmt = batch.statement
    computed = sum((e.amount for e in stmt.entries), from_minor(0, stmt.currency or "USD"))
    stmt.checks.append(total_check("batch_count", int(total["item_count"]), len(stmt.entries)))
    stmt.checks.append(total_check("batch_total", total["total_amount"], computed))
    if total.get("batch_number") is not None:
        # The batch total names the batch its figures belong to; the sample's header says 000.
        stmt.sequence = total["batch_number"]
        others = sorted(batch.batch_numbers - {total["batch_number"]})
        detail = f"batch total {total['batch_number']}, checks " + (
            ", ".join(sorted(batch.batch_numbers)) if batch.batch_numbers else "none"
        )
        stmt.checks.append(Check("batch_number", not others, detail))
    mismatches = [
        f"{key} {batch.header.get(key)} in header, {total.get(key)} in total ({where})"
        for key in ("lockbox_number", "deposit_date")
        if total.get(key) is not None and total.get(key) != batch.header.get(key)
    ]
    stmt.checks.append(
        Check("batch_identity", not mismatches, "; ".join(mismatches) or "header and total agree")
    )


# --------------------------------------------------------------------------------------------
# CSV lockbox
# --------------------------------------------------------------------------------------------

_CSV_AMOUNT_RE = re.compile(r"^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$")


def parse_csv(
    data: bytes,
    name: str,
    mapping: dict[str, str],
    *,
    currency: str = "USD",
    date_format: str = "%Y-%m-%d",
    delimiter: str = ",",
) -> ParsedFile:
    """Parse a CSV lockbox export: one row per check, columns named by ``mapping``.

    ``mapping`` maps our field names (check_number, amount, invoice, payer, account, date,
    batch, lockbox) to CSV header names; only ``amount`` is required. ``invoice`` may hold
    several references separated by ``;``. Rows are grouped into batches by (lockbox, batch,
    date); without a lockbox column the file name stands in for the lockbox number. A CSV
    carries no control totals, so the batch checks say what was computed and pass.
    """
    unknown = set(mapping) - CSV_FIELDS
    if unknown:
        raise LayoutError(f"CSV mapping: {sorted(unknown)[0]}: unknown field")
    if "amount" not in mapping:
        raise LayoutError("CSV mapping: amount: missing (the column holding the check amount)")
    if not is_currency(currency):
        raise LayoutError(f"CSV mapping: currency: not an ISO 4217 code: {currency!r}")
    reader = csv.reader(io.StringIO(_decode(data), newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError(name, "line 1", "empty file: no header row") from None
    columns = {h.strip(): i for i, h in enumerate(header)}
    index: dict[str, int] = {}
    for key, column in mapping.items():
        if column not in columns:
            raise ParseError(name, "line 1", f"column {column!r} (for {key}) not in the header")
        index[key] = columns[column]
    default_lockbox = Path(name).stem
    batches: dict[tuple[str, str | None, date | None], Statement] = {}
    for row in reader:
        where = f"line {reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ParseError(name, where, f"{len(row)} columns, header has {len(header)}")
        cell = {key: row[i].strip() for key, i in index.items()}
        amount = _csv_amount(cell["amount"], currency, name, where)
        deposit: date | None = None
        if "date" in cell:
            try:
                deposit = datetime.strptime(cell["date"], date_format).date()
            except ValueError:
                raise ParseError(
                    name, where, f"date {cell['date']!r} does not match {date_format}"
                ) from None
        lockbox = cell.get("lockbox") or default_lockbox
        batch_id = cell.get("batch") or None
        key = (lockbox, batch_id, deposit)
        stmt = batches.get(key)
        if stmt is None:
            stmt = Statement(
                account=lockbox,
                currency=currency,
                date=deposit,
                sequence=batch_id,
                kind="batch",
                location=where,
            )
            batches[key] = stmt
        invoices = [ref.strip() for ref in cell.get("invoice", "").split(";") if ref.strip()]
        stmt.entries.append(
            Entry(
                amount=amount,
                currency=currency,
                booking_date=deposit,
                status="BOOK",
                check_number=_check_number(cell.get("check_number")),
                counterparty_account=cell.get("account") or None,
                counterparty_name=cell.get("payer") or None,
                remittance=[RemittanceRef(ref, None, "invoice") for ref in invoices],
                location=where,
            )
        )
    statements = list(batches.values())
    for stmt in statements:
        total = sum((e.amount for e in stmt.entries), Decimal(0))
        stmt.checks.append(total_check("batch_count", None, len(stmt.entries)))
        stmt.checks.append(total_check("batch_total", None, total))
    return ParsedFile(file=name, format="lockbox", statements=statements)


def _csv_amount(text: str, currency: str, file: str, where: str) -> Decimal:
    """A positive amount with a decimal point (thousands commas allowed), exact to the cent."""
    if not _CSV_AMOUNT_RE.match(text):
        raise ParseError(file, where, f"amount {text!r} is not a positive decimal number")
    try:
        value = parse_decimal(text)
        to_minor(value, currency)
    except MoneyError as exc:
        raise ParseError(file, where, f"amount {text!r}: {exc}") from None
    return value
