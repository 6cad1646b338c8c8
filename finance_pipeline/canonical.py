"""Turn one business date's archived deliveries into canonical tables.

Each delivered file goes through the reader for its source's format: bank statements to
``bank_transactions`` and ``bank_balances``, lockbox files to ``payments`` and
``remittance_lines``, Stripe API pages to ``payouts``, ``processor_transactions`` and card
``payments``, canonical-header CSV exports to the table their name says. A file that cannot be
parsed or fails an integrity check is quarantined with its reason; the rest goes on. Rows are
validated against the Pandera contracts; rows that fail go to ``rejects`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline import dedupe, fx, lake, masterdata
from finance_pipeline.archive import Arrival, RawArchive
from finance_pipeline.config import PipelineConfig, SourceConfig
from finance_pipeline.formats import ParsedFile, ParseError, parse_bytes
from finance_pipeline.formats.model import Balance, Check, sequence_gap
from finance_pipeline.mappings import (
    Mapping,
    MappingError,
    identity_mapping,
    map_export,
    mapping_for_file,
)
from finance_pipeline.masking import mask_account, mask_file_name
from finance_pipeline.money import MoneyError, from_minor
from finance_pipeline.validation import frame_from_rows, split_valid

log = logging.getLogger(__name__)

FILE_CHECK_SCHEMA: dict[str, pl.DataType] = {
    "business_date": pl.Date,
    "source": pl.String,
    "file_name": pl.String,
    "sha256": pl.String,
    "format": pl.String,
    "statement_index": pl.Int64,
    "account_number": pl.String,
    "statement_date": pl.Date,
    "check_name": pl.String,
    "ok": pl.Boolean,
    "detail": pl.String,
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "business_date": pl.Date,
    "source": pl.String,
    "file_name": pl.String,
    "sha256": pl.String,
    "format": pl.String,
    "reason": pl.String,
    "kind": pl.String,  # parse_error | integrity | mapping_error
}
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "business_date": pl.Date,
    "table": pl.String,
    "source_file": pl.String,
    "source_location": pl.String,
    "reject_reason": pl.String,
}
GAP_CHECKS = frozenset(
    {"continuity", "sequence", "continuity_previous_file", "sequence_previous_file"}
)
CSV_TABLE = re.compile(r"^(?P<table>[a-z_]+?)_\d{4}-?\d{2}-?\d{2}\.csv$")


@dataclass
class CanonicalBatch:
    """Everything one business date produced, before it is written to the lake."""

    business_date: date
    lake_root: lake.Lake
    config_dir: Path | None = None
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    frames: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    file_checks: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[pl.DataFrame] = field(default_factory=list)
    # Set by build_canonical / tables(): pipeline settings (fx), the mappings used today
    # (identifier resolution needs them), and the unknown-master-data flags of the day.
    settings: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Mapping] = field(default_factory=dict)
    reference_flags: pl.DataFrame | None = None

    def add_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    def tables(self) -> dict[str, pl.DataFrame]:
        """Validated canonical frames (sorted, so output bytes do not depend on input order).

        Reference tables (master data, fx_rates) go first: the others resolve identifiers
        against the day's master data, are deduplicated (lineage in ``record_deliveries``),
        get functional-currency amounts, and are checked for unknown references.
        """
        out: dict[str, pl.DataFrame] = {}
        master: dict[str, pl.DataFrame] = {}
        remaps: dict[str, pl.DataFrame] = {}
        deliveries: list[pl.DataFrame] = [dedupe.empty_deliveries()]
        fx_settings = self.settings.get("fx") or {}
        book: fx.RateBook | None = None
        first = [*masterdata.MASTER_TABLES, "fx_rates"]
        order = [*first, *(t for t in CANONICAL_MODELS if t not in first)]
        for table in order:
            model = CANONICAL_MODELS[table]
            if table == "record_deliveries":
                continue
            parts = [frame_from_rows(self.rows.get(table, []), model), *self.frames.get(table, [])]
            frame = pl.concat(parts, how="vertical")
            frame = masterdata.resolve_references(frame, table, self.mappings.values(), master)
            frame = dedupe.remap_references(frame, table, remaps)
            frame = self._row_checked(table, frame)
            found = dedupe.deduplicate(table, frame, self.business_date, self.lake_root)
            frame, remaps[table] = found.kept, found.remap
            deliveries.append(found.deliveries)
            if table in fx.FX_FIELDS:
                if book is None:
                    book = fx.RateBook(
                        out.get("fx_rates", frame_from_rows([], CANONICAL_MODELS["fx_rates"])),
                        max_age_days=int(fx_settings.get("max_age_days", fx.DEFAULT_MAX_AGE_DAYS)),
                        pivot=str(fx_settings.get("pivot_currency", fx.DEFAULT_PIVOT)),
                        lake_root=self.lake_root,
                        business_date=self.business_date,
                    )
                frame = fx.add_functional_amounts(frame, table, master["legal_entities"], book)
            out[table] = self._validated(table, frame)
            if table in masterdata.MASTER_TABLES:
                master[table] = masterdata.latest_snapshot(
                    table, out[table], self.lake_root, self.business_date
                )
        out["record_deliveries"] = self._validated(
            "record_deliveries", pl.concat(deliveries, how="vertical_relaxed")
        )
        self.reference_flags = masterdata.reference_flags(out, master)
        return {table: out[table] for table in CANONICAL_MODELS}

    def _row_checked(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows that pass the contract's row-level checks, in read order (others rejected)."""
        ordered = frame.with_row_index("__order")
        good, bad = split_valid(ordered, dedupe.row_rules(table))  # type: ignore[arg-type]
        self._reject(table, bad)
        return good.sort("__order").drop("__order")

    def _validated(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        model = CANONICAL_MODELS[table]
        frame = frame.unique(maintain_order=True).sort(frame.columns, nulls_last=True)
        good, bad = split_valid(frame, model)
        self._reject(table, bad)
        return good

    def _reject(self, table: str, bad: pl.DataFrame) -> None:
        if bad.height:
            self.rejects.append(
                bad.select(
                    pl.col("business_date"),
                    pl.lit(table).alias("table"),
                    pl.col("source_file"),
                    pl.col("source_location"),
                    pl.col("reject_reason"),
                )
            )

    def reference_flag_frame(self) -> pl.DataFrame:
        """``quality.reference_flags`` of the day (call after :meth:`tables`)."""
        if self.reference_flags is None:
            return pl.DataFrame(schema=masterdata.REFERENCE_FLAG_SCHEMA)
        return self.reference_flags

    def reject_frame(self) -> pl.DataFrame:
        parts = [pl.DataFrame(schema=REJECT_SCHEMA), *self.rejects]
        frame = pl.concat([p.select(list(REJECT_SCHEMA)).cast(REJECT_SCHEMA) for p in parts])
        return frame.sort(frame.columns, nulls_last=True)

    def file_check_frame(self) -> pl.DataFrame:
        frame = pl.DataFrame(self.file_checks, schema=FILE_CHECK_SCHEMA, orient="row")
        return frame.sort(["file_name", "statement_index", "check_name"], nulls_last=True)

    def quarantine_frame(self) -> pl.DataFrame:
        frame = pl.DataFrame(self.quarantine, schema=QUARANTINE_SCHEMA, orient="row")
        return frame.sort(["file_name", "sha256"])


def stable_id(prefix: str, *parts: object) -> str:
    """A short deterministic id from the parts that identify a record."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{prefix}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def lineage(
    arrival: Arrival, business_date: date, source_system: str, source_id: str, location: str
) -> dict[str, Any]:
    return {
        "business_date": business_date,
        "source_system": source_system,
        "source_id": source_id,
        "source_file": arrival.file_name,
        "source_request": None,
        "source_location": location,
        "mapping_name": None,
        "mapping_version": None,
    }


# --- bank statements -------------------------------------------------------------------------


def bank_rows(
    parsed: ParsedFile,
    arrival: Arrival,
    source: SourceConfig,
    business_date: date,
    accounts: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Canonical bank_transactions and bank_balances rows of one parsed statement file."""
    system = source.options.get("source_system", source.name)
    transactions: list[dict[str, Any]] = []
    balances: list[dict[str, Any]] = []
    for statement in parsed.statements:
        account = accounts.get(statement.account, {})
        seen: Counter[tuple[Any, ...]] = Counter()
        for entry in statement.entries:
            currency = entry.currency or statement.currency
            natural = (
                statement.account,
                entry.booking_date,
                entry.value_date,
                entry.amount,
                currency,
                entry.bank_reference,
                entry.acct_svcr_ref,
                entry.customer_reference,
                entry.end_to_end_id,
                entry.type_code,
            )
            seen[natural] += 1
            tid = stable_id("bt", *natural, seen[natural])
            source_id = entry.acct_svcr_ref or entry.bank_reference or tid
            refs = "|".join(r.reference for r in entry.remittance) or None
            transactions.append(
                {
                    **lineage(arrival, business_date, system, source_id, entry.location),
                    "transaction_id": tid,
                    "bank_account_id": account.get("bank_account_id"),
                    "account_number": statement.account,
                    "entity_id": account.get("entity_id"),
                    "file_format": parsed.format,
                    "booking_date": entry.booking_date,
                    "value_date": entry.value_date,
                    "amount": entry.amount,
                    "currency": currency,
                    "status": entry.status,
                    "reversal": entry.reversal,
                    "type_code": entry.type_code,
                    "bank_reference": entry.bank_reference,
                    "customer_reference": entry.customer_reference,
                    "end_to_end_id": entry.end_to_end_id,
                    "acct_svcr_ref": entry.acct_svcr_ref,
                    "check_number": entry.check_number,
                    "counterparty_name": entry.counterparty_name,
                    "counterparty_account": entry.counterparty_account,
                    "remittance_text": entry.remittance_text,
                    "remittance_refs": refs,
                }
            )
        stated = list(statement.balances)
        kinds = {b.kind for b in stated}
        as_of = statement.date or statement.to_date
        if statement.opening_balance is not None and "opening" not in kinds:
            stated.append(
                Balance("opening", statement.opening_balance, statement.currency or "", as_of)
            )
        if statement.closing_balance is not None and "closing" not in kinds:
            stated.append(
                Balance("closing", statement.closing_balance, statement.currency or "", as_of)
            )
        for bal in stated:
            bid = stable_id("bb", statement.account, bal.kind, bal.as_of, bal.currency, bal.amount)
            balances.append(
                {
                    **lineage(arrival, business_date, system, bid, statement.location),
                    "balance_id": bid,
                    "bank_account_id": account.get("bank_account_id"),
                    "account_number": statement.account,
                    "entity_id": account.get("entity_id"),
                    "as_of": bal.as_of,
                    "kind": bal.kind,
                    "amount": bal.amount,
                    "currency": bal.currency or statement.currency,
                    "statement_sequence": statement.sequence,
                }
            )
    return transactions, balances


def lockbox_rows(
    parsed: ParsedFile, arrival: Arrival, source: SourceConfig, business_date: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Canonical payments and remittance_lines of one parsed lockbox file."""
    system = source.options.get("source_system", source.name)
    entity = source.options.get("entity")
    bank_account = source.options.get("bank_account_id")
    payments: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for batch in parsed.statements:
        for entry in batch.entries:
            # <lockbox>-<deposit date>-<batch>-<item>: unique per check, as the bank numbers it.
            item = entry.bank_reference or f"{batch.sequence}-{entry.check_number}"
            deposit = f"{batch.date:%Y%m%d}" if batch.date else "nodate"
            source_id = f"{batch.account}-{deposit}-{item}"
            pid = stable_id("pay", system, source_id, entry.amount, batch.date)
            currency = entry.currency or batch.currency
            payments.append(
                {
                    **lineage(arrival, business_date, system, source_id, entry.location),
                    "payment_id": pid,
                    "entity_id": entity,
                    "method": "lockbox",
                    "received_date": batch.date or business_date,
                    "amount": entry.amount,
                    "currency": currency,
                    "payer_name": entry.counterparty_name,
                    "payer_account": entry.counterparty_account,
                    "customer_id": None,
                    "reference": entry.remittance[0].reference if entry.remittance else None,
                    "bank_account_id": bank_account,
                }
            )
            for line_no, ref in enumerate(entry.remittance, start=1):
                lines.append(
                    {
                        **lineage(
                            arrival, business_date, system, f"{source_id}/{line_no}", entry.location
                        ),
                        "remittance_id": stable_id("rem", pid, line_no),
                        "payment_id": pid,
                        "line_no": line_no,
                        "reference": ref.reference,
                        "amount": ref.amount,
                        "currency": currency,
                    }
                )
    return payments, lines


# --- Stripe API pages ------------------------------------------------------------------------


def _epoch_date(value: int | None) -> date | None:
    return datetime.fromtimestamp(value, UTC).date() if value is not None else None


def stripe_rows(
    page: dict[str, Any], arrival: Arrival, source: SourceConfig, business_date: date
) -> dict[str, list[dict[str, Any]]]:
    """Canonical rows from one Stripe list response (charges, payouts, balance transactions)."""
    entity = source.options.get("entity")
    url = str(page.get("url", ""))
    path = urlparse(url).path
    query = parse_qs(urlparse(url).query)
    out: dict[str, list[dict[str, Any]]] = {}
    for idx, obj in enumerate(page.get("data", [])):
        location = f"data[{idx}]"
        currency = str(obj.get("currency", "")).upper()
        base = lineage(arrival, business_date, "stripe", obj["id"], location)
        base["source_request"] = url or None
        if path.endswith("/balance_transactions"):
            out.setdefault("processor_transactions", []).append(
                {
                    **base,
                    "processor_txn_id": obj["id"],
                    "entity_id": entity,
                    "type": obj["type"],
                    "source_object_id": obj.get("source"),
                    "amount": from_minor(int(obj["amount"]), currency),
                    "fee": from_minor(int(obj.get("fee", 0)), currency),
                    "net": from_minor(int(obj.get("net", obj["amount"])), currency),
                    "currency": currency,
                    "created_at": datetime.fromtimestamp(int(obj["created"]), UTC).replace(
                        tzinfo=None
                    ),
                    "available_on": _epoch_date(obj.get("available_on")),
                    "payout_id": (query.get("payout") or [None])[0],
                    "customer_ref": None,
                    "invoice_ref": None,
                    "description": obj.get("description"),
                }
            )
        elif path.endswith("/payouts"):
            out.setdefault("payouts", []).append(
                {
                    **base,
                    "payout_id": obj["id"],
                    "entity_id": entity,
                    "amount": from_minor(int(obj["amount"]), currency),
                    "currency": currency,
                    "created_date": _epoch_date(obj["created"]),
                    "arrival_date": _epoch_date(obj["arrival_date"]),
                    "status": obj.get("status", "paid"),
                    "destination_account": obj.get("destination"),
                    "statement_descriptor": obj.get("statement_descriptor"),
                }
            )
        elif path.endswith("/charges"):
            metadata = obj.get("metadata") or {}
            billing = obj.get("billing_details") or {}
            out.setdefault("payments", []).append(
                {
                    **base,
                    "payment_id": f"stripe_{obj['id']}",
                    "entity_id": entity,
                    "method": "card",
                    "received_date": _epoch_date(obj["created"]),
                    "amount": from_minor(int(obj["amount"]), currency),
                    "currency": currency,
                    "payer_name": billing.get("name") or metadata.get("customer_name"),
                    "payer_account": obj.get("customer"),
                    "customer_id": metadata.get("customer_id"),
                    "reference": metadata.get("invoice_number") or metadata.get("invoice"),
                    "bank_account_id": None,
                }
            )
    return out


# --- the day's batch -------------------------------------------------------------------------


def latest_bank_accounts(batch: CanonicalBatch, lake_root: lake.Lake) -> dict[str, dict[str, Any]]:
    """Bank account master data by account number: today's export, else the latest before."""
    frame = masterdata.latest_snapshot(
        "bank_accounts", batch.frames.get("bank_accounts", []), lake_root, batch.business_date
    )
    return {row["account_number"]: row for row in frame.iter_rows(named=True)}


def _quarantine(
    batch: CanonicalBatch, arrival: Arrival, source: SourceConfig, reason: str, kind: str
) -> None:
    shown = mask_file_name(arrival.file_name, source.date_pattern)
    log.warning("quarantined %s from %s: %s", shown, source.name, reason)
    batch.quarantine.append(
        {
            "business_date": batch.business_date,
            "source": source.name,
            "file_name": arrival.file_name,
            "sha256": arrival.sha256,
            "format": source.format,
            "reason": reason,
            "kind": kind,
        }
    )


def _record_checks(
    batch: CanonicalBatch, arrival: Arrival, source: SourceConfig, parsed: ParsedFile
) -> None:
    base = {
        "business_date": batch.business_date,
        "source": source.name,
        "file_name": arrival.file_name,
        "sha256": arrival.sha256,
        "format": parsed.format,
    }
    for check in parsed.checks:
        batch.file_checks.append(
            {
                **base,
                "statement_index": None,
                "account_number": None,
                "statement_date": None,
                "check_name": check.name,
                "ok": check.ok,
                "detail": check.detail,
            }
        )
    for idx, stmt in enumerate(parsed.statements):
        for check in stmt.checks:
            batch.file_checks.append(
                {
                    **base,
                    "statement_index": idx,
                    "account_number": stmt.account,
                    "statement_date": stmt.date or stmt.to_date,
                    "check_name": check.name,
                    "ok": check.ok,
                    "detail": check.detail,
                }
            )


def previous_closings(lake_root: lake.Lake, before: date) -> dict[str, dict[str, Any]]:
    """Each account's last stated closing balance (and sequence) in earlier partitions."""
    history = lake.read_table(lake_root, "bank_balances")
    if history is None:
        return {}
    closings = (
        history.filter((pl.col("business_date") < before) & (pl.col("kind") == "closing"))
        .sort("account_number", "as_of", "business_date", "statement_sequence", nulls_last=False)
        .group_by("account_number", maintain_order=True)
        .last()
    )
    return {row["account_number"]: row for row in closings.iter_rows(named=True)}


def cross_file_continuity(parsed: ParsedFile, previous: dict[str, dict[str, Any]]) -> list[Check]:
    """The first statement of each account in this file continues the last one already loaded:
    same balance (previous closing = this opening) and the next sequence number."""
    checks: list[Check] = []
    seen: set[str] = set()
    for stmt in parsed.statements:
        if stmt.account in seen or stmt.account not in previous:
            continue
        seen.add(stmt.account)
        prev = previous[stmt.account]
        if stmt.opening_balance is not None:
            ok = prev["amount"] == stmt.opening_balance
            checks.append(
                Check(
                    "continuity_previous_file",
                    ok,
                    f"account {mask_account(stmt.account)}: closing {prev['amount']} on "
                    f"{prev['as_of']} in {prev['source_file']}, "
                    f"opening here {stmt.opening_balance}",
                )
            )
        gap = sequence_gap(prev.get("statement_sequence"), stmt.sequence)
        if gap is not None:
            checks.append(
                Check(
                    "sequence_previous_file",
                    gap.ok,
                    f"account {mask_account(stmt.account)}: {gap.detail}",
                )
            )
    return checks


def _parse_options(source: SourceConfig, config_dir: Path | None) -> dict[str, Any]:
    """Parser options from the source's config: a lockbox layout preset name or YAML path."""
    layout = source.options.get("layout")
    if source.format != "lockbox" or not layout:
        return {}
    from finance_pipeline.formats.lockbox import load_layout, preset_layout

    if str(layout).endswith((".yaml", ".yml")):
        path = Path(layout)
        return {
            "layout": load_layout(path if path.is_absolute() else (config_dir or Path()) / path)
        }
    return {"layout": preset_layout(str(layout))}


def _read_statement_file(
    batch: CanonicalBatch,
    data: bytes,
    arrival: Arrival,
    source: SourceConfig,
    on_parsed: Callable[[ParsedFile], None],
) -> str:
    fmt = "auto" if source.format in ("bai2", "camt", "mt940") else source.format
    try:
        csv_columns = source.options.get("csv_columns")
        if source.format == "lockbox" and csv_columns:
            # A lockbox provider that sends CSV: columns named in the config, same checks.
            from finance_pipeline.formats.lockbox import parse_csv

            parsed = parse_csv(
                data,
                arrival.file_name,
                dict(csv_columns),
                currency=source.options.get("currency", "USD"),
                date_format=source.options.get("csv_date_format", "%Y-%m-%d"),
            )
        else:
            parsed = parse_bytes(
                data, arrival.file_name, fmt, **_parse_options(source, batch.config_dir)
            )
    except ParseError as exc:
        _quarantine(batch, arrival, source, str(exc), "parse_error")
        return "quarantined"
    if parsed.format != "lockbox":
        previous = previous_closings(batch.lake_root, batch.business_date)
        parsed.checks.extend(cross_file_continuity(parsed, previous))
    _record_checks(batch, arrival, source, parsed)
    # Gaps between statements are the bank's missing statement, not a broken file: they become
    # statement_gap exceptions (from file_checks) while the file itself is loaded.
    broken = [c for c in parsed.failed_checks() if c.name not in GAP_CHECKS]
    if broken or parsed.errors:
        details = [f"{c.name}: {c.detail}" for c in broken] + list(parsed.errors)
        _quarantine(
            batch, arrival, source, "integrity check failed: " + "; ".join(details), "integrity"
        )
        return "quarantined"
    on_parsed(parsed)
    return "parsed"


def build_canonical(
    config: PipelineConfig,
    archive: RawArchive,
    arrivals: Iterable[Arrival],
    business_date: date,
    lake_root: lake.Lake,
) -> tuple[CanonicalBatch, dict[str, str]]:
    """Read each first arrival of the day; returns the batch and a parse status per file hash."""
    batch = CanonicalBatch(
        business_date, lake_root, config.path.parent if config.path is not None else None
    )
    batch.settings = dict(config.settings)
    statuses: dict[str, str] = {}
    firsts = sorted(
        (a for a in arrivals if not a.is_duplicate), key=lambda a: (a.source, a.file_name)
    )
    by_source = {s.name: s for s in config.sources}
    # Exports first: bank files look up today's bank account master data.
    order = {"export": 0, "api": 1, "lockbox": 2, "bank_statement": 3}
    firsts.sort(
        key=lambda a: order.get(by_source[a.source].kind, 9) if a.source in by_source else 9
    )
    for arrival in firsts:
        source = by_source.get(arrival.source)
        if source is None:
            continue
        data = archive.read(arrival.sha256)
        status = "parsed"
        try:
            if source.format == "csv":
                status = _read_export(batch, data, arrival, source)
            elif source.format == "stripe_json":
                page = json.loads(data)
                for table, rows in stripe_rows(page, arrival, source, business_date).items():
                    batch.add_rows(table, rows)
            elif source.format == "lockbox":
                status = _read_statement_file(
                    batch,
                    data,
                    arrival,
                    source,
                    lambda p, a=arrival, s=source: _add_lockbox(batch, p, a, s),
                )
            else:
                accounts = latest_bank_accounts(batch, lake_root)
                status = _read_statement_file(
                    batch,
                    data,
                    arrival,
                    source,
                    lambda p, a=arrival, s=source, acc=accounts: _add_bank(batch, p, a, s, acc),
                )
        except (MappingError, MoneyError, ValueError, KeyError) as exc:
            _quarantine(batch, arrival, source, f"{type(exc).__name__}: {exc}", "mapping_error")
            status = "quarantined"
        statuses[arrival.sha256] = status
        shown = mask_file_name(arrival.file_name, source.date_pattern)
        log.info("%s %s from %s", status, shown, arrival.source)
    return batch, statuses


def _add_bank(
    batch: CanonicalBatch,
    parsed: ParsedFile,
    arrival: Arrival,
    source: SourceConfig,
    accounts: dict[str, dict[str, Any]],
) -> None:
    transactions, balances = bank_rows(parsed, arrival, source, batch.business_date, accounts)
    batch.add_rows("bank_transactions", transactions)
    batch.add_rows("bank_balances", balances)


def _add_lockbox(
    batch: CanonicalBatch, parsed: ParsedFile, arrival: Arrival, source: SourceConfig
) -> None:
    payments, lines = lockbox_rows(parsed, arrival, source, batch.business_date)
    batch.add_rows("payments", payments)
    batch.add_rows("remittance_lines", lines)


def _read_export(batch: CanonicalBatch, data: bytes, arrival: Arrival, source: SourceConfig) -> str:
    mapping = mapping_for_file(source.options, arrival.file_name, batch.config_dir)
    if mapping is None:
        found = CSV_TABLE.match(arrival.file_name)
        table = source.options.get("table") or (found.group("table") if found else None)
        if table not in CANONICAL_MODELS:
            raise MappingError(f"{arrival.file_name}: cannot tell which canonical table it holds")
        mapping = identity_mapping(table)
    good, rejects = map_export(
        mapping,
        data,
        arrival.file_name,
        batch.business_date,
        source_system=source.options.get("source_system"),
    )
    batch.mappings[mapping.key] = mapping
    batch.frames.setdefault(mapping.table, []).append(good)
    if rejects.height:
        batch.rejects.append(
            rejects.with_columns(pl.lit(batch.business_date).alias("business_date"))
        )
    return "parsed"


def money_total(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))
