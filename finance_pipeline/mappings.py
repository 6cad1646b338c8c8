"""The mapping engine: one versioned YAML file per source export, turning it into one canonical
table, so every system's data meets in one shape and a mapping change is visible in the rows.

Presets for known exports live in ``contracts/mappings/<name>.yaml``; a source in
``finance_pipeline.yaml`` names one with ``mapping: <preset name or path>`` (or a
``{file glob: mapping}`` table when one folder carries several exports; a file no glob matches
falls back to the identity mapping). Sources with ``format: csv`` consult the option, and the
mapping's ``reader`` decides how the bytes are read (CSV, or JSON such as a Stripe API page).
:func:`source_mappings` loads them all up front. A ``format: csv``
source without a mapping uses the *identity mapping*: a CSV whose header is the canonical column
names of the table its file name says (``invoices_20261026.csv``). The identity mapping is built
by :func:`identity_mapping` as an ordinary mapping and runs through the same engine.

Every canonical row records ``mapping_name`` and ``mapping_version``. A mapping is validated when
it is loaded; errors name the file and the key (``...yaml: columns.amount.type: ...``). Cells that
cannot be read (a bad date, ``abc`` as an amount, a code missing from a lookup) reject their row
with a reason naming the file, line and field; the other rows go on. A header that lacks a column
the mapping needs refuses the whole file (it is quarantined by the caller).

YAML schema (every key except ``name``, ``version``, ``table`` and ``columns`` is optional)::

    name: netsuite_open_ar_invoices   # recorded on every row as mapping_name
    version: "3"                      # string; recorded as mapping_version. Bump it on any change
    table: invoices                   # a canonical table (contracts/canonical.py)
    description: ...
    extends: <preset or path>         # start from another mapping; this file's keys win
                                      # (columns/lookups/defaults/reader merge per key,
                                      # a column set to ~ drops the inherited one)
    source_system: netsuite           # constant for every row, unless columns.source_system is
                                      # mapped; the source's `source_system` option overrides it
    reader:
      format: csv                     # csv | json (a list of objects, e.g. an API page)
      records: data                   # json: dotted path to the list; nested keys become
                                      # dotted column names (customer.id); lists are dropped
      delimiter: ","                  # csv: one character
      quote_char: '"'
      encoding: utf8                  # utf8 | utf8-lossy | any Python codec (cp1252, latin-1)
      skip_rows: 0                    # title lines before the header
      null_values: ["-", "N/A"]       # cells read as empty
      fill_down: [Invoice #, Date]    # header-row values fill the line rows below; the first
                                      # column starts a block (never fills across headers)
      extra_columns: ignore           # ignore | error (the identity mapping uses error)
    defaults:                         # for every column unless it says otherwise
      date_format: "%m/%d/%Y"         # strftime; a list is tried in order
      datetime_format: "%Y-%m-%d %H:%M:%S"   # %z offsets are converted to UTC
      decimal: "."                    # "," for decimal commas (1.234,56)
      thousands: ","                  # grouping character removed before parsing ("" = none)
      currency: USD                   # used when the `currency` field is empty or unmapped
    where:                            # keep only rows matching every condition (others are
      - {column: Type, in: [Line]}    # not this table: header, total or other record types)
      # a condition: column plus one of in | not_in | equals | not_equals | matches (regex)
      #              | empty (true/false)
    lookups:                          # named code tables used by columns
      status: {Open: open, "Paid In Full": paid}
    columns:                          # canonical field -> how to fill it
      invoice_number: Document Number # shorthand for {from: Document Number}
      invoice_id: {template: "ns-inv-{Internal ID}"}
      status: {from: Status, lookup: status}
      ...

A column spec has exactly one of ``from`` (a source column, or a list: the first non-empty),
``constant`` (a literal) or ``template`` (``{Column}`` placeholders), then these steps in order:

1. ``extract: <regex>`` keeps the first group (a value that does not match rejects the row);
   ``upper`` / ``lower``.
2. ``lookup: <name>`` maps codes; ``on_missing``: reject (default) | keep | null, or
   ``lookup_default: <value>``.
3. ``default: <value>`` when still empty (currency defaults, constant fallbacks).
4. ``prefix`` / ``suffix`` (id prefixes such as ``ns-inv-``), for text fields.
5. Parse to the contract's type. ``type`` may refine it: ``minor_units`` (integer minor units,
   scaled by the exponent of the row's ``currency_field``, default ``currency``: Stripe API
   amounts), ``epoch`` (Unix seconds), ``datetime`` for a date field (keeps the date part).
   ``format`` (date formats), ``decimal`` and ``thousands`` override ``defaults``. Numbers accept
   ``-5``, ``5-``, ``(5)`` (negative), currency symbols and spaces; more decimals than the column
   holds reject the row unless ``round: true`` (half-even).
6. Sign conventions on numbers: ``negate: true``, ``negate_when: <condition>`` (e.g. credit
   memos, a D/C indicator), ``abs: true``, ``clip: positive | negative`` (split one signed
   amount into debit = positive part and credit = negative part, as a positive number).

``resolve: <system>`` on ``customer_id``, ``vendor_id`` or ``entity_id`` marks the value as that
system's identifier (customers: erp, crm, stripe, bank, name; vendors: erp, bank, name;
legal_entities: name). :mod:`finance_pipeline.masterdata` replaces it by the canonical id from
the master data of the day; an id that cannot be resolved is kept as delivered and flagged.
``optional: true`` lets a ``from`` column be absent from the header (the field is then empty).
"""

from __future__ import annotations

import codecs
import fnmatch
import hashlib
import io
import json
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.money import CURRENCY_EXPONENTS, MONEY_SCALE
from finance_pipeline.validation import polars_schema

PRESET_DIR = Path(__file__).resolve().parents[1] / "contracts" / "mappings"
LINEAGE_FILLED = ("business_date", "source_file", "source_request", "source_location")
MAPPING_COLUMNS = ("mapping_name", "mapping_version")
IDENTITY = ("identity", "1")
# Filled by pipeline steps (finance_pipeline.fx); a delivery may carry them but need not.
DERIVED_COLUMNS = ("functional_amount", "functional_currency", "fx_rate", "fx_rate_date")

TYPES = ("text", "date", "datetime", "epoch", "bool", "integer", "decimal", "money", "minor_units")
RESOLVE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("erp", "crm", "stripe", "bank", "name"),
    "vendor_id": ("erp", "bank", "name"),
    "entity_id": ("name",),
}
_TOP_KEYS = {
    "name",
    "version",
    "table",
    "description",
    "extends",
    "source_system",
    "reader",
    "defaults",
    "where",
    "lookups",
    "columns",
}
_READER_KEYS = {
    "format",
    "records",
    "delimiter",
    "quote_char",
    "encoding",
    "skip_rows",
    "null_values",
    "fill_down",
    "extra_columns",
}
_DEFAULT_KEYS = {"date_format", "datetime_format", "decimal", "thousands", "currency"}
_COLUMN_KEYS = {
    "from",
    "constant",
    "template",
    "optional",
    "type",
    "format",
    "decimal",
    "thousands",
    "round",
    "negate",
    "negate_when",
    "abs",
    "clip",
    "currency_field",
    "upper",
    "lower",
    "prefix",
    "suffix",
    "extract",
    "lookup",
    "on_missing",
    "lookup_default",
    "default",
    "resolve",
}
_CONDITION_OPS = ("in", "not_in", "equals", "not_equals", "matches", "empty")
_NUMERIC_ONLY = ("decimal", "thousands", "round", "negate", "negate_when", "abs", "clip")
_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%z", "%Z", "%p", "%s")


class MappingError(ValueError):
    """A mapping that is invalid, or an export that cannot be read with it (wrong header)."""


@dataclass(frozen=True)
class Condition:
    """A test on one source column's (stripped) text, used by ``where`` and ``negate_when``."""

    column: str
    op: str
    value: Any

    def expr(self) -> pl.Expr:
        text = pl.col(self.column)
        if self.op == "in":
            return text.is_in([str(v) for v in self.value]).fill_null(False)
        if self.op == "not_in":
            return ~text.is_in([str(v) for v in self.value]).fill_null(False)
        if self.op == "equals":
            return (text == str(self.value)).fill_null(False)
        if self.op == "not_equals":
            return (text != str(self.value)).fill_null(True)
        if self.op == "matches":
            return text.str.contains(str(self.value)).fill_null(False)
        return text.is_null() if self.value else text.is_not_null()


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical field is filled (see the module docstring for the keys)."""

    field: str
    sources: tuple[str, ...] = ()
    constant: str | None = None
    template: str | None = None
    optional: bool = False
    type: str = "text"
    formats: tuple[str, ...] = ()
    decimal: str = "."
    thousands: str = ","
    round: bool = False
    negate: bool = False
    negate_when: Condition | None = None
    absolute: bool = False
    clip: str | None = None
    currency_field: str = "currency"
    upper: bool = False
    lower: bool = False
    prefix: str = ""
    suffix: str = ""
    extract: str | None = None
    lookup: str | None = None
    on_missing: str = "reject"
    lookup_default: str | None = None
    default: str | None = None
    resolve: str | None = None

    @property
    def template_columns(self) -> tuple[str, ...]:
        return tuple(_TEMPLATE_FIELD.findall(self.template or ""))

    def source_columns(self) -> tuple[str, ...]:
        cols = [*self.sources, *self.template_columns]
        if self.negate_when is not None:
            cols.append(self.negate_when.column)
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class ReaderSpec:
    format: str = "csv"
    records: str = "data"
    delimiter: str = ","
    quote_char: str | None = '"'
    encoding: str = "utf8"
    skip_rows: int = 0
    null_values: tuple[str, ...] = ()
    fill_down: tuple[str, ...] = ()
    extra_columns: str = "ignore"


@dataclass(frozen=True)
class Mapping:
    """A validated mapping: how one export becomes rows of one canonical table."""

    name: str
    version: str
    table: str
    columns: dict[str, ColumnSpec]
    reader: ReaderSpec = field(default_factory=ReaderSpec)
    where: tuple[Condition, ...] = ()
    lookups: dict[str, dict[str, str | None]] = field(default_factory=dict)
    source_system: str | None = None
    description: str = ""
    path: str | None = None
    spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def resolutions(self) -> list[tuple[str, str]]:
        """(canonical field, identifier system) pairs that master data must resolve."""
        return [(c.field, c.resolve) for c in self.columns.values() if c.resolve]

    def fingerprint(self) -> str:
        """Hash of what the mapping does (not its version or description), for governance."""
        body = {k: v for k, v in self.spec.items() if k not in ("version", "description")}
        text = json.dumps(body, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- loading and validation ------------------------------------------------------------------


def preset_names() -> list[str]:
    """Names of the presets shipped in ``contracts/mappings``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _locate(ref: str | Path, base_dir: Path | None) -> Path:
    text = str(ref)
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        path = PRESET_DIR / f"{text}.yaml"
        if not path.exists():
            raise MappingError(f"no mapping preset named {text!r} (known: {preset_names()})")
        return path
    path = Path(text).expanduser()
    if not path.is_absolute():
        candidates = [base / path for base in (base_dir, PRESET_DIR) if base is not None]
        candidates.append(Path.cwd() / path)
        path = next((c for c in candidates if c.exists()), candidates[0])
    if not path.exists():
        raise MappingError(f"mapping file {text!r} not found")
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot read mapping: {exc}") from exc
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: a mapping file must be a YAML mapping at the top level")
    return raw


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in base.items() if k != "extends"}
    for key, value in child.items():
        if key == "extends":
            continue
        if key in ("columns", "lookups", "defaults", "reader") and isinstance(value, dict):
            inner = dict(merged.get(key) or {})
            for sub, sub_value in value.items():
                if sub_value is None and key == "columns":
                    inner.pop(sub, None)
                else:
                    inner[sub] = sub_value
            merged[key] = inner
        else:
            merged[key] = value
    return merged


def _raw_spec(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise MappingError(f"{path}: extends: circular chain {[str(p) for p in seen]}")
    raw = _read_yaml(path)
    parent = raw.get("extends")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise MappingError(f"{path}: extends: must be a preset name or a path")
    for key in ("name", "version"):
        if key not in raw:
            raise MappingError(f"{path}: {key}: a mapping that extends another needs its own")
    base = _raw_spec(_locate(parent, path.parent), (*seen, path))
    return _merge(base, raw)


@lru_cache(maxsize=256)
def _load_cached(path: str, mtime_ns: int) -> Mapping:
    file = Path(path)
    return parse_mapping(_raw_spec(file), where=str(file))


def load_mapping(ref: str | Path, base_dir: Path | None = None) -> Mapping:
    """A preset by name (``netsuite_gl_lines``) or a mapping file by path, validated."""
    path = _locate(ref, base_dir).resolve()
    return _load_cached(str(path), path.stat().st_mtime_ns)


def _fail(where: str, key: str, problem: str) -> MappingError:
    return MappingError(f"{where}: {key}: {problem}")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _fail(where, key, "must be a string or a non-empty list of strings")


def _condition(raw: Any, where: str, key: str) -> Condition:
    if not isinstance(raw, dict) or not isinstance(raw.get("column"), str):
        raise _fail(where, key, "must be a mapping with a 'column' and one test")
    ops = [op for op in raw if op != "column"]
    if len(ops) != 1 or ops[0] not in _CONDITION_OPS:
        raise _fail(where, key, f"needs exactly one test of {list(_CONDITION_OPS)}, got {ops}")
    op = ops[0]
    value = raw[op]
    if op in ("in", "not_in") and not isinstance(value, list):
        raise _fail(where, f"{key}.{op}", "must be a list")
    if op == "empty" and not isinstance(value, bool):
        raise _fail(where, f"{key}.{op}", "must be true or false")
    if op == "matches":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise _fail(where, f"{key}.{op}", f"bad regex: {exc}") from exc
    if op in ("equals", "not_equals"):
        value = _as_text(value)
    return Condition(raw["column"], op, value)


def _default_type(dtype: pl.DataType) -> str:
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Datetime:
        return "datetime"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if dtype.is_integer():
        return "integer"
    return "text"


_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "date": ("date", "datetime", "epoch"),
    "datetime": ("datetime", "date", "epoch"),
    "bool": ("bool",),
    "integer": ("integer",),
    "decimal": ("decimal", "money", "minor_units"),
}


def _column(
    name: str, raw: Any, dtype: pl.DataType, defaults: dict[str, Any], where: str
) -> ColumnSpec:
    key = f"columns.{name}"
    if isinstance(raw, str):
        raw = {"from": raw}
    if not isinstance(raw, dict):
        raise _fail(where, key, "must be a source column name or a mapping")
    unknown = sorted(set(raw) - _COLUMN_KEYS)
    if unknown:
        raise _fail(where, key, f"unknown key(s) {unknown}; allowed: {sorted(_COLUMN_KEYS)}")
    kinds = [k for k in ("from", "constant", "template") if k in raw]
    if len(kinds) != 1:
        raise _fail(where, key, "needs exactly one of 'from', 'constant' or 'template'")
    natural = _default_type(dtype)
    kind = str(raw.get("type", natural))
    if kind not in TYPES:
        raise _fail(where, f"{key}.type", f"{kind!r} is not one of {list(TYPES)}")
    if kind not in _COMPATIBLE[natural]:
        raise _fail(where, f"{key}.type", f"{kind!r} cannot fill a {dtype} field")
    kind = "decimal" if kind == "money" else kind
    numeric = kind in ("decimal", "integer", "minor_units")
    for opt in _NUMERIC_ONLY:
        if opt in raw and not numeric:
            raise _fail(where, f"{key}.{opt}", f"only applies to numbers, not {kind}")
    for opt in ("prefix", "suffix", "upper", "lower"):
        if opt in raw and kind != "text":
            raise _fail(where, f"{key}.{opt}", "only applies to text fields")
    if "format" in raw and kind not in ("date", "datetime"):
        raise _fail(where, f"{key}.format", "only applies to dates and datetimes")
    if "clip" in raw and raw["clip"] not in ("positive", "negative"):
        raise _fail(where, f"{key}.clip", "must be 'positive' or 'negative'")
    on_missing = str(raw.get("on_missing", "reject"))
    if on_missing not in ("reject", "keep", "null"):
        raise _fail(where, f"{key}.on_missing", "must be reject, keep or null")
    if "resolve" in raw:
        allowed = RESOLVE_SYSTEMS.get(name)
        if allowed is None:
            raise _fail(where, f"{key}.resolve", f"only {sorted(RESOLVE_SYSTEMS)} resolve")
        if raw["resolve"] not in allowed:
            raise _fail(where, f"{key}.resolve", f"{raw['resolve']!r} is not one of {allowed}")
    if "extract" in raw:
        try:
            compiled = re.compile(str(raw["extract"]))
        except re.error as exc:
            raise _fail(where, f"{key}.extract", f"bad regex: {exc}") from exc
        if compiled.groups < 1:
            raise _fail(where, f"{key}.extract", "needs one capture group")
    if "template" in raw and not _TEMPLATE_FIELD.findall(str(raw["template"])):
        raise _fail(where, f"{key}.template", "has no {Column} placeholder")
    if kind == "date":
        fmt_default = defaults.get("date_format")
    elif kind == "datetime":
        fmt_default = defaults.get("datetime_format")
    else:
        fmt_default = None
    fmt = raw.get("format", fmt_default)
    formats = _str_list(fmt, where, f"{key}.format") if fmt is not None else ()
    for opt in ("decimal", "thousands"):
        value = raw.get(opt, defaults.get(opt, "." if opt == "decimal" else ","))
        if not isinstance(value, str) or len(value) > 1 or (opt == "decimal" and not value):
            raise _fail(where, f"{key}.{opt}", "must be a single character")
    decimal_sep = str(raw.get("decimal", defaults.get("decimal", ".")))
    thousands = str(raw.get("thousands", defaults.get("thousands", ",")))
    if decimal_sep == thousands:
        raise _fail(where, f"{key}.thousands", "must differ from the decimal separator")
    default = raw.get("default")
    if default is None and name == "currency" and "currency" in defaults:
        default = defaults["currency"]
    return ColumnSpec(
        field=name,
        sources=_str_list(raw["from"], where, f"{key}.from") if "from" in raw else (),
        constant=_as_text(raw["constant"]) if raw.get("constant") is not None else None,
        template=str(raw["template"]) if "template" in raw else None,
        optional=bool(raw.get("optional", False)),
        type=kind,
        formats=formats,
        decimal=decimal_sep,
        thousands=thousands,
        round=bool(raw.get("round", False)),
        negate=bool(raw.get("negate", False)),
        negate_when=(
            _condition(raw["negate_when"], where, f"{key}.negate_when")
            if "negate_when" in raw
            else None
        ),
        absolute=bool(raw.get("abs", False)),
        clip=raw.get("clip"),
        currency_field=str(raw.get("currency_field", "currency")),
        upper=bool(raw.get("upper", False)),
        lower=bool(raw.get("lower", False)),
        prefix=_as_text(raw.get("prefix", "")),
        suffix=_as_text(raw.get("suffix", "")),
        extract=str(raw["extract"]) if "extract" in raw else None,
        lookup=str(raw["lookup"]) if "lookup" in raw else None,
        on_missing=on_missing,
        lookup_default=_as_text(raw["lookup_default"]) if "lookup_default" in raw else None,
        default=_as_text(default) if default is not None else None,
        resolve=str(raw["resolve"]) if "resolve" in raw else None,
    )


def _reader(raw: Any, where: str) -> ReaderSpec:
    if raw is None:
        return ReaderSpec()
    if not isinstance(raw, dict):
        raise _fail(where, "reader", "must be a mapping")
    unknown = sorted(set(raw) - _READER_KEYS)
    if unknown:
        raise _fail(where, "reader", f"unknown key(s) {unknown}; allowed: {sorted(_READER_KEYS)}")
    fmt = raw.get("format", "csv")
    if fmt not in ("csv", "json"):
        raise _fail(where, "reader.format", f"{fmt!r} is not csv or json")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise _fail(where, "reader.delimiter", "must be one character")
    encoding = str(raw.get("encoding", "utf8"))
    if encoding not in ("utf8", "utf8-lossy"):
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise _fail(where, "reader.encoding", f"unknown encoding {encoding!r}") from exc
    skip = raw.get("skip_rows", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise _fail(where, "reader.skip_rows", "must be a whole number >= 0")
    extra = raw.get("extra_columns", "ignore")
    if extra not in ("ignore", "error"):
        raise _fail(where, "reader.extra_columns", "must be ignore or error")
    nulls = raw.get("null_values", [])
    if not isinstance(nulls, list):
        raise _fail(where, "reader.null_values", "must be a list")
    fill = raw.get("fill_down", [])
    return ReaderSpec(
        format=fmt,
        records=str(raw.get("records", "data")),
        delimiter=delimiter,
        quote_char=raw.get("quote_char", '"'),
        encoding=encoding,
        skip_rows=skip,
        null_values=tuple(_as_text(v) for v in nulls),
        fill_down=_str_list(fill, where, "reader.fill_down") if fill else (),
        extra_columns=extra,
    )


def parse_mapping(raw: dict[str, Any], where: str = "<mapping>") -> Mapping:
    """Validate a mapping given as a dict (as read from YAML); errors name ``where`` and key."""
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _fail(where, "top level", f"unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    for key in ("name", "version", "table", "columns"):
        if raw.get(key) in (None, ""):
            raise _fail(where, key, "is required")
    name, version, table = str(raw["name"]), _as_text(raw["version"]), str(raw["table"])
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise _fail(where, "name", f"{name!r} may only use letters, digits, _ . -")
    if table not in CANONICAL_MODELS:
        raise _fail(where, "table", f"{table!r} is not a canonical table")
    schema = polars_schema(CANONICAL_MODELS[table])
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - _DEFAULT_KEYS:
        raise _fail(where, "defaults", f"must be a mapping with keys from {sorted(_DEFAULT_KEYS)}")
    columns_raw = raw["columns"]
    if not isinstance(columns_raw, dict):
        raise _fail(where, "columns", "must be a mapping of canonical field -> spec")
    filled_by_engine = (*LINEAGE_FILLED, *MAPPING_COLUMNS)
    columns: dict[str, ColumnSpec] = {}
    for col, spec in columns_raw.items():
        if col not in schema:
            raise _fail(where, f"columns.{col}", f"is not a column of canonical table {table!r}")
        if col in filled_by_engine:
            raise _fail(where, f"columns.{col}", "is lineage the engine fills itself")
        columns[col] = _column(col, spec, schema[col], defaults, where)
    if "currency" in schema and "currency" not in columns and "currency" in defaults:
        columns["currency"] = _column(
            "currency", {"constant": defaults["currency"]}, schema["currency"], defaults, where
        )
    lookups_raw = raw.get("lookups") or {}
    if not isinstance(lookups_raw, dict):
        raise _fail(where, "lookups", "must be a mapping of name -> {code: value}")
    lookups: dict[str, dict[str, str | None]] = {}
    for lname, table_raw in lookups_raw.items():
        if not isinstance(table_raw, dict):
            raise _fail(where, f"lookups.{lname}", "must be a mapping of code -> value")
        lookups[str(lname)] = {
            _as_text(k): (None if v is None else _as_text(v)) for k, v in table_raw.items()
        }
    for spec in columns.values():
        if spec.lookup and spec.lookup not in lookups:
            raise _fail(where, f"columns.{spec.field}.lookup", f"no lookup named {spec.lookup!r}")
        if spec.type == "minor_units" and spec.currency_field not in columns:
            raise _fail(
                where,
                f"columns.{spec.field}.currency_field",
                f"minor units need the {spec.currency_field!r} field mapped",
            )
    source_system = raw.get("source_system")
    if source_system is not None and not isinstance(source_system, str):
        raise _fail(where, "source_system", "must be a string")
    required = [
        c
        for c, dtype in schema.items()
        if c not in filled_by_engine
        and c not in columns
        and c not in DERIVED_COLUMNS
        and not CANONICAL_MODELS[table].to_schema().columns[c].nullable
        and not (c == "source_system" and source_system)
    ]
    if required:
        raise _fail(where, "columns", f"required canonical field(s) {required} are not mapped")
    where_raw = raw.get("where") or []
    if not isinstance(where_raw, list):
        raise _fail(where, "where", "must be a list of conditions")
    conditions = tuple(_condition(c, where, f"where[{i}]") for i, c in enumerate(where_raw))
    return Mapping(
        name=name,
        version=version,
        table=table,
        columns=columns,
        reader=_reader(raw.get("reader"), where),
        where=conditions,
        lookups=lookups,
        source_system=source_system,
        description=str(raw.get("description", "")).strip(),
        path=where,
        spec=raw,
    )


def identity_mapping(table: str) -> Mapping:
    """The canonical-header CSV of ``table`` as a mapping: each field from its own column.

    Text columns and columns filled by later steps may be absent from the header; any other
    column must be there, and a column that is not canonical refuses the file.
    """
    if table not in CANONICAL_MODELS:
        raise MappingError(f"{table!r} is not a canonical table")
    return _identity_cached(table)


@lru_cache(maxsize=64)
def _identity_cached(table: str) -> Mapping:
    model = CANONICAL_MODELS[table]
    schema = polars_schema(model)
    columns: dict[str, Any] = {}
    for col, dtype in schema.items():
        if col in (*LINEAGE_FILLED, *MAPPING_COLUMNS):
            continue
        spec: dict[str, Any] = {"from": col}
        required = col in ("source_system", "source_id")
        if not required and (dtype == pl.String or col in DERIVED_COLUMNS):
            spec["optional"] = True
        if isinstance(dtype, pl.Decimal) and dtype.scale != MONEY_SCALE:
            spec["round"] = True  # rates: half-even to the column's scale; money never rounds
        columns[col] = spec
    raw = {
        "name": IDENTITY[0],
        "version": IDENTITY[1],
        "table": table,
        "description": f"CSV whose header is the canonical column names of {table}",
        "reader": {"format": "csv", "extra_columns": "error"},
        "defaults": {"date_format": "%Y-%m-%d", "decimal": ".", "thousands": ""},
        "columns": columns,
    }
    return parse_mapping(raw, where=f"identity mapping of {table}")


def mapping_for_file(
    options: MappingABC[str, Any], file_name: str, base_dir: Path | None = None
) -> Mapping | None:
    """The mapping a source's ``mapping`` option assigns to ``file_name`` (None: identity)."""
    ref = options.get("mapping")
    if ref is None:
        return None
    if isinstance(ref, dict):
        for pattern, target in ref.items():
            if fnmatch.fnmatch(file_name, str(pattern)):
                return load_mapping(str(target), base_dir)
        return None
    return load_mapping(str(ref), base_dir)


def source_mappings(options: MappingABC[str, Any], base_dir: Path | None = None) -> list[Mapping]:
    """Every mapping a source's ``mapping`` option names, loaded and validated now, so a
    configuration can fail at start-up instead of when the first file arrives."""
    ref = options.get("mapping")
    if ref is None:
        return []
    refs = list(ref.values()) if isinstance(ref, dict) else [ref]
    return [load_mapping(str(r), base_dir) for r in refs]


# --- applying a mapping ----------------------------------------------------------------------


def _decode(data: bytes, reader: ReaderSpec, file_name: str) -> tuple[bytes, str]:
    if reader.encoding in ("utf8", "utf8-lossy"):
        return data, reader.encoding
    try:
        return data.decode(reader.encoding).encode("utf-8"), "utf8"
    except UnicodeDecodeError as exc:
        raise MappingError(f"{file_name}: not {reader.encoding} text: {exc}") from exc


def _read_raw(mapping: Mapping, data: bytes, file_name: str) -> tuple[pl.DataFrame, str, int]:
    """All cells as text, plus how to name a row's location (``line {}`` / ``data[{}]``)."""
    reader = mapping.reader
    if reader.format == "json":
        try:
            records: Any = json.loads(data)
            for part in reader.records.split(".") if reader.records else []:
                records = records[part]
        except (ValueError, KeyError, TypeError) as exc:
            raise MappingError(f"{file_name}: no JSON list at {reader.records!r}: {exc}") from exc
        if not isinstance(records, list):
            raise MappingError(f"{file_name}: {reader.records!r} is not a JSON list")
        if not records:
            needed = {c for spec in mapping.columns.values() for c in spec.source_columns()}
            needed |= {c.column for c in mapping.where}
            empty = pl.DataFrame(schema=dict.fromkeys(sorted(needed), pl.String))
            return empty, f"{reader.records}[{{}}]", 0
        frame = pl.json_normalize(records, separator=".", infer_schema_length=None)
        keep = [c for c, t in frame.schema.items() if not isinstance(t, pl.List | pl.Struct)]
        frame = frame.select(pl.col(c).cast(pl.String) for c in keep)
        return frame, f"{reader.records}[{{}}]", 0
    payload, encoding = _decode(data, reader, file_name)
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            infer_schema=False,
            encoding=encoding,  # type: ignore[arg-type]
            separator=reader.delimiter,
            quote_char=reader.quote_char,
            skip_rows=reader.skip_rows,
            truncate_ragged_lines=True,
        )
    except Exception as exc:  # polars raises several error types for unreadable CSV
        raise MappingError(f"{file_name}: not a readable CSV: {exc}") from exc
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    return frame, "line {}", reader.skip_rows + 2


def _check_header(mapping: Mapping, columns: list[str], file_name: str) -> None:
    present = set(columns)
    if mapping.reader.extra_columns == "error":
        known = set(polars_schema(CANONICAL_MODELS[mapping.table]))
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise MappingError(
                f"{file_name}: unknown column(s) {unknown} for table {mapping.table!r}"
            )
    needed: list[str] = []
    for spec in mapping.columns.values():
        if spec.optional and not spec.template:
            continue
        needed.extend(spec.source_columns())
    for cond in mapping.where:
        needed.append(cond.column)
    needed.extend(mapping.reader.fill_down)
    missing = [c for c in dict.fromkeys(needed) if c not in present]
    if missing:
        what = "canonical column(s)" if mapping.name == IDENTITY[0] else "column(s)"
        raise MappingError(
            f"{file_name}: header lacks {what} {missing} needed by mapping "
            f"{mapping.name!r} v{mapping.version} (table {mapping.table!r})"
        )


def _blank_to_null(expr: pl.Expr, nulls: tuple[str, ...]) -> pl.Expr:
    text = expr.str.strip_chars()
    empty = text == ""
    if nulls:
        empty = empty | text.is_in(list(nulls))
    return pl.when(empty).then(None).otherwise(text)


def _type_label(spec: ColumnSpec) -> str:
    if spec.type == "minor_units":
        return "integer minor units"
    if spec.formats:
        return f"{spec.type} ({' or '.join(spec.formats)})"
    return spec.type


def _temporal(spec: ColumnSpec, text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Text to a Date or Datetime, trying each format in order."""
    if spec.type == "epoch":
        parsed = pl.from_epoch(text.cast(pl.Int64, strict=False), time_unit="s")
    elif spec.formats:
        attempts = []
        for fmt in spec.formats:
            timed = any(d in fmt for d in _TIME_DIRECTIVES)
            if spec.type == "date" and not timed:
                attempts.append(text.str.to_date(fmt, strict=False).cast(pl.Datetime("us")))
            else:
                value = text.str.to_datetime(fmt, strict=False, time_unit="us")
                if "%z" in fmt or "%Z" in fmt:
                    value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                attempts.append(value)
        parsed = pl.coalesce(attempts)
    elif spec.type == "date":
        parsed = text.str.to_date(strict=False).cast(pl.Datetime("us"))
    else:
        parsed = text.str.to_datetime(strict=False, time_unit="us")
    if dtype == pl.Date:
        return parsed.dt.date()
    return parsed.cast(dtype)


def _text_stages(spec: ColumnSpec, mapping: Mapping) -> list[list[pl.Expr]]:
    """Steps 1-4 of the module docstring, ending with ``__t_<field>`` (the cleaned text) and
    ``__rt_<field>`` (extract or lookup failures)."""
    if spec.constant is not None:
        source: pl.Expr = pl.lit(spec.constant, dtype=pl.String)
    elif spec.template is not None:
        fmt = _TEMPLATE_FIELD.sub("{}", spec.template.replace("{}", ""))
        source = pl.format(fmt, *[pl.col(c) for c in spec.template_columns])
    else:
        source = pl.coalesce([pl.col(c) for c in spec.sources])
    raw, value = _col("s", spec), _col("x", spec)
    first: list[pl.Expr] = [source.alias(_name("s", spec))]
    if spec.extract:
        extracted = _blank_to_null(raw.str.extract(spec.extract, 1), ())
        second = [extracted.alias(_name("x", spec))]
        reasons = [
            _failure(
                raw.is_not_null() & value.is_null(),
                spec,
                "'",
                raw,
                f"' does not match /{spec.extract}/",
            )
        ]
    else:
        second = [raw.alias(_name("x", spec))]
        reasons = []
    if spec.upper:
        value = value.str.to_uppercase()
    if spec.lower:
        value = value.str.to_lowercase()
    if spec.lookup:
        table = mapping.lookups[spec.lookup]
        found = value.is_in(list(table))
        mapped = value.replace_strict(table, default=None, return_dtype=pl.String)
        if spec.lookup_default is not None:
            mapped = pl.when(found).then(mapped).otherwise(pl.lit(spec.lookup_default))
            mapped = pl.when(value.is_null()).then(None).otherwise(mapped)
        elif spec.on_missing == "keep":
            mapped = pl.when(found).then(mapped).otherwise(value)
        elif spec.on_missing == "reject":
            reasons.append(
                _failure(
                    value.is_not_null() & ~found,
                    spec,
                    "'",
                    value,
                    f"' is not in lookup '{spec.lookup}'",
                )
            )
        value = mapped
    if spec.default is not None:
        value = value.fill_null(pl.lit(spec.default))
    if spec.type == "text" and (spec.prefix or spec.suffix):
        value = pl.lit(spec.prefix) + value + pl.lit(spec.suffix)
    return [
        first,
        second,
        [value.alias(_name("t", spec)), _join(reasons).alias(_name("rt", spec))],
    ]


def _signed(spec: ColumnSpec, value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if spec.negate:
        value = -value
    if spec.negate_when is not None:
        value = pl.when(spec.negate_when.expr()).then(-value).otherwise(value)
    if spec.absolute:
        value = value.abs()
    if spec.clip:
        zero = pl.lit(0).cast(dtype)
        part = value if spec.clip == "positive" else -value
        value = pl.when(part > zero).then(part).when(value.is_not_null()).then(zero)
    return value


def _col(kind: str, spec: ColumnSpec) -> pl.Expr:
    return pl.col(f"__{kind}_{spec.field}")


def _name(kind: str, spec: ColumnSpec) -> str:
    return f"__{kind}_{spec.field}"


def _failure(condition: pl.Expr, spec: ColumnSpec, *parts: pl.Expr | str) -> pl.Expr:
    message = [pl.lit(f"{spec.field}: ")] + [pl.lit(p) if isinstance(p, str) else p for p in parts]
    return pl.when(condition).then(pl.concat_str(message))


def _number_stages(spec: ColumnSpec, dtype: pl.DataType) -> list[list[pl.Expr]]:
    """Text to a number in steps, each a column, so every regex runs once per cell."""
    text = _col("t", spec)
    c0, c1, c2, c3 = (_col(k, spec) for k in ("c0", "c1", "c2", "c3"))
    cleaned = c2.str.replace(r"^[+-]", "")
    if spec.thousands:
        cleaned = cleaned.str.replace_all(spec.thousands, "", literal=True)
    if spec.decimal != ".":
        cleaned = cleaned.str.replace_all(spec.decimal, ".", literal=True)
    whole = spec.type in ("integer", "minor_units")
    pattern = r"^\d+$" if whole else r"^(\d+\.?\d*|\.\d+)$"
    scale = dtype.scale if isinstance(dtype, pl.Decimal) else 0
    negative = _col("paren", spec) | _col("trail", spec) | _col("lead", spec)
    signed = pl.when(negative).then(pl.lit("-") + c3).otherwise(c3)
    ok = _col("ok", spec)
    decimals = c3.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0)
    reasons = [
        _failure(text.is_not_null() & ~ok, spec, "cannot read '", text, f"' as {_type_label(spec)}")
    ]
    if spec.type == "integer":
        number = pl.when(ok).then(signed).cast(pl.Int64, strict=False)
    elif whole:
        number = pl.when(ok).then(signed).str.to_decimal(scale=0)
    elif spec.round:
        parsed = pl.when(ok).then(signed).str.to_decimal(scale=min(scale + 10, 30))
        number = parsed.round(scale, mode="half_to_even")
    else:
        too_long = ok & (decimals > scale)
        reasons.append(_failure(too_long, spec, "'", text, f"' has more than {scale} decimals"))
        number = pl.when(ok & ~too_long).then(signed).str.to_decimal(scale=scale)
    return [
        [text.str.replace_all(r"[\s\u00a0\u202f$€£¥]", "").alias(_name("c0", spec))],
        [
            c0.str.contains(r"^\(.*\)$").alias(_name("paren", spec)),
            c0.str.replace(r"^\((.*)\)$", "$1").alias(_name("c1", spec)),
        ],
        [
            c1.str.ends_with("-").alias(_name("trail", spec)),
            c1.str.replace(r"-$", "").alias(_name("c2", spec)),
        ],
        [c2.str.starts_with("-").alias(_name("lead", spec)), cleaned.alias(_name("c3", spec))],
        [c3.str.contains(pattern).fill_null(False).alias(_name("ok", spec))],
        [number.alias(_name("num", spec)), _join(reasons).alias(_name("rn", spec))],
    ]


def _join(reasons: list[pl.Expr]) -> pl.Expr:
    if not reasons:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _field_stages(spec: ColumnSpec, mapping: Mapping, dtype: pl.DataType) -> list[list[pl.Expr]]:
    """Column-producing steps that end with ``__f_<field>`` (the typed value) and
    ``__r_<field>`` (why the row is rejected, or null)."""
    t = _col("t", spec)
    stages = _text_stages(spec, mapping)
    reasons = [_col("rt", spec)]
    if spec.type == "text":
        stages.append([t.cast(dtype).alias(_name("f", spec))])
    elif spec.type in ("date", "datetime", "epoch"):
        stages.append([_temporal(spec, t, dtype).alias(_name("f", spec))])
        reasons.append(
            _failure(
                t.is_not_null() & _col("f", spec).is_null(),
                spec,
                "cannot read '",
                t,
                f"' as {_type_label(spec)}",
            )
        )
    elif spec.type == "bool":
        lowered = t.str.to_lowercase()
        value = (
            pl.when(lowered.is_in(["true", "1", "yes", "y", "t"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no", "n", "f"]))
            .then(False)
        )
        stages.append([value.alias(_name("f", spec))])
        reasons.append(
            _failure(
                t.is_not_null() & _col("f", spec).is_null(),
                spec,
                "cannot read '",
                t,
                "' as true/false",
            )
        )
    else:
        stages.extend(_number_stages(spec, dtype))
        number = _col("num", spec)
        reasons.append(_col("rn", spec))
        if spec.type == "minor_units":
            factors = {c: Decimal(1).scaleb(-e) for c, e in CURRENCY_EXPONENTS.items()}
            currency = pl.col(f"__f_{spec.currency_field}")
            factor = currency.replace_strict(
                factors, default=None, return_dtype=pl.Decimal(18, MONEY_SCALE)
            )
            reasons.append(
                _failure(
                    number.is_not_null() & factor.is_null(),
                    spec,
                    "minor units need a known currency, got '",
                    currency.fill_null(""),
                    "'",
                )
            )
            number = number.cast(pl.Decimal(38, MONEY_SCALE)) * factor
        value = _signed(spec, number.cast(dtype, strict=False), dtype)
        stages.append([value.alias(_name("f", spec))])
        reasons.append(
            _failure(
                number.is_not_null() & _col("f", spec).is_null(),
                spec,
                "'",
                t,
                f"' does not fit {dtype}",
            )
        )
    stages.append([_join(reasons).alias(_name("r", spec))])
    return stages


def _run_stages(frame: pl.DataFrame, plans: list[list[list[pl.Expr]]]) -> pl.DataFrame:
    """Run the n-th step of every field together, in order."""
    for depth in range(max((len(p) for p in plans), default=0)):
        exprs = [e for plan in plans if depth < len(plan) for e in plan[depth]]
        if exprs:
            frame = frame.with_columns(exprs)
    return frame


def map_export(
    mapping: Mapping,
    data: bytes,
    file_name: str,
    business_date: date,
    *,
    source_system: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply ``mapping`` to one delivered file; return (canonical rows, rejected rows).

    Canonical rows have the contract's columns and dtypes plus lineage; rejects have ``table``,
    ``source_file``, ``source_location`` and ``reject_reason``. ``source_system`` (the source's
    option) wins over the mapping's constant and is the fallback when neither maps one.
    """
    schema = polars_schema(CANONICAL_MODELS[mapping.table])
    raw, location, offset = _read_raw(mapping, data, file_name)
    _check_header(mapping, raw.columns, file_name)
    referenced = {c for spec in mapping.columns.values() for c in spec.source_columns()}
    referenced |= {c.column for c in mapping.where} | set(mapping.reader.fill_down)
    for spec in mapping.columns.values():
        missing = [c for c in spec.source_columns() if c not in raw.columns]
        if missing and spec.optional:
            raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
    raw = raw.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("__pos"),
        *[
            _blank_to_null(pl.col(c), mapping.reader.null_values).alias(c)
            for c in raw.columns
            if c in referenced
        ],
    )
    if mapping.reader.fill_down:
        # A row with the first fill_down column set starts a block (a header row); its values
        # fill the empty cells of the rows below it, never across into the next block.
        block = pl.col(mapping.reader.fill_down[0]).is_not_null().cum_sum()
        raw = raw.with_columns(
            pl.col(c).forward_fill().over(block) for c in mapping.reader.fill_down
        )
    for cond in mapping.where:
        raw = raw.filter(cond.expr())
    # Typed fields go to __f_<field> and their reasons to __r_<field>, so a canonical field
    # named like a source column (as in the identity mapping) never hides the source text.
    firsts = [c for c in mapping.columns.values() if c.type != "minor_units"]
    seconds = [c for c in mapping.columns.values() if c.type == "minor_units"]
    for group in (firsts, seconds):  # minor units need the row's currency first
        raw = _run_stages(raw, [_field_stages(c, mapping, schema[c.field]) for c in group])
    reason_cols = [pl.col(f"__r_{c}") for c in mapping.columns]
    reason_expr = (
        pl.concat_str(reason_cols, separator="; ", ignore_nulls=True)
        if reason_cols
        else pl.lit(None, dtype=pl.String)
    )
    if "source_system" in mapping.columns:
        system_expr = pl.col("__f_source_system")
    else:
        system_expr = pl.lit(source_system or mapping.source_system, dtype=pl.String)
    fixed = {
        "business_date": pl.lit(business_date, dtype=pl.Date),
        "source_file": pl.lit(file_name, dtype=pl.String),
        "source_request": pl.lit(None, dtype=pl.String),
        "source_location": pl.format(location, pl.col("__pos") + offset),
        "mapping_name": pl.lit(mapping.name, dtype=pl.String),
        "mapping_version": pl.lit(mapping.version, dtype=pl.String),
        "source_system": system_expr,
    }
    out_exprs = []
    for col, dtype in schema.items():
        if col in fixed:
            expr = fixed[col]
        elif col in mapping.columns:
            expr = pl.col(f"__f_{col}")
        else:
            expr = pl.lit(None, dtype=dtype)
        out_exprs.append(expr.cast(dtype).alias(col))
    shaped = raw.select(
        *out_exprs,
        pl.when(reason_expr == "").then(None).otherwise(reason_expr).alias("__reason"),
    )
    good = shaped.filter(pl.col("__reason").is_null()).drop("__reason")
    rejects = shaped.filter(pl.col("__reason").is_not_null()).select(
        pl.lit(mapping.table).alias("table"),
        pl.col("source_file"),
        pl.col("source_location"),
        pl.col("__reason").alias("reject_reason"),
    )
    return good, rejects


def read_identity_csv(
    data: bytes, file_name: str, table: str, business_date: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a canonical-header CSV; return (rows in the contract's dtypes, rejected rows)."""
    return map_export(identity_mapping(table), data, file_name, business_date)
