"""The audit log: an append-only record of what produced every match, exception state change
and journal proposal.

``<home>/audit/audit.jsonl`` holds one JSON object per event: ``match_created``,
``exception_opened``, ``exception_aged``, ``exception_resolved``, ``journal_proposed`` and
``journal_superseded``. Each names the run that produced it, the business date, the records
involved with their correlation ids, the raw files they were read from (SHA-256 of the bytes
in the archive, so the exact file version), the mapping versions and the rule version.

Lines are only ever appended, under a file lock (like the raw archive's manifest), and never
rewritten. Every event has a key derived from what it states (the match and rule version,
the exception and the day...), and :func:`append_events` skips keys already recorded, so
rerunning a day adds nothing; the first run that produced a fact stays its author.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from finance_pipeline.dedupe import RECORD_ID, record_id_expr
from finance_pipeline.trace import correlation_id

AUDIT_DIR = "audit"
AUDIT_FILE = "audit.jsonl"
EVENT_TYPES = (
    "match_created",
    "exception_opened",
    "exception_aged",
    "exception_resolved",
    "journal_proposed",
    "journal_superseded",
)
LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    "record_type": pl.String,
    "record_id": pl.String,
    "source_file": pl.String,
    "source_request": pl.String,
    "mapping": pl.String,
    "raw_sha256": pl.String,
}


def audit_path(home: Path) -> Path:
    """Where the log lives under a pipeline home (``Home.root``)."""
    return Path(home) / AUDIT_DIR / AUDIT_FILE


def event_key(event_type: str, *parts: object) -> str:
    """Deterministic key of one fact, so the same fact is never logged twice."""
    text = "\x1f".join([event_type, *("" if p is None else str(p) for p in parts)])
    return hashlib.sha256(text.encode()).hexdigest()


# --- lineage of records ----------------------------------------------------------------------


def record_lineage(
    tables: Mapping[str, pl.DataFrame], raw_files: pl.DataFrame | None
) -> pl.DataFrame:
    """(record_type, record_id) -> source file or request, mapping and the raw file's SHA-256.

    The raw file is the first (non-duplicate) arrival of that file name for the record's
    business date, as the archive manifest (lake table ``raw_files``) lists it.
    """
    parts = [pl.DataFrame(schema={**LINEAGE_SCHEMA, "business_date": pl.Date})]
    for table, frame in sorted(tables.items()):
        if table not in RECORD_ID or frame is None or frame.height == 0:
            continue
        if not all(c in frame.columns for c in RECORD_ID[table]):
            continue

        def col(name: str, cols: frozenset[str] = frozenset(frame.columns)) -> pl.Expr:
            return pl.col(name) if name in cols else pl.lit(None, dtype=pl.String)

        mapping = pl.when(col("mapping_name").is_not_null()).then(
            pl.format("{}@{}", col("mapping_name"), col("mapping_version").fill_null("?"))
        )
        parts.append(
            frame.select(
                pl.lit(table).alias("record_type"),
                record_id_expr(table).alias("record_id"),
                col("source_file").cast(pl.String).alias("source_file"),
                col("source_request").cast(pl.String).alias("source_request"),
                mapping.cast(pl.String).alias("mapping"),
                pl.lit(None, dtype=pl.String).alias("raw_sha256"),
                (
                    pl.col("business_date").cast(pl.Date)
                    if "business_date" in frame.columns
                    else pl.lit(None, dtype=pl.Date)
                ).alias("business_date"),
            )
        )
    lineage = pl.concat(parts, how="vertical_relaxed")
    if raw_files is not None and raw_files.height:
        files = (
            raw_files.filter(pl.col("duplicate_of").is_null())
            .select(
                pl.col("file_name").alias("source_file"),
                pl.col("business_date").cast(pl.String).str.to_date().alias("business_date"),
                pl.col("sha256").alias("__sha"),
            )
            .unique(["source_file", "business_date"], keep="first")
        )
        lineage = lineage.join(files, on=["source_file", "business_date"], how="left")
        lineage = lineage.with_columns(pl.col("__sha").alias("raw_sha256")).drop("__sha")
    return lineage.select(list(LINEAGE_SCHEMA)).unique(["record_type", "record_id"], keep="last")


def _with_lineage(frame: pl.DataFrame, lineage: pl.DataFrame | None) -> pl.DataFrame:
    if lineage is None:
        lineage = pl.DataFrame(schema=LINEAGE_SCHEMA)
    return frame.join(lineage, on=["record_type", "record_id"], how="left")


def _sorted_unique(expr: pl.Expr) -> pl.Expr:
    return expr.drop_nulls().unique().sort()


def _record_lists(members: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per ``key``: records, their correlation ids, raw files, source files and mappings."""
    correlation = pl.Series(
        "__cor", [correlation_id(r) for r in members["record_id"].to_list()], dtype=pl.String
    )
    return (
        members.with_columns(correlation)
        .group_by(key)
        .agg(
            _sorted_unique(pl.format("{}:{}", "record_type", "record_id")).alias("records"),
            _sorted_unique(pl.col("__cor")).alias("correlation_ids"),
            _sorted_unique(pl.col("raw_sha256")).alias("raw_files"),
            _sorted_unique(pl.coalesce("source_file", "source_request")).alias("sources"),
            _sorted_unique(pl.col("mapping")).alias("mappings"),
        )
    )


# --- event builders (pure) -------------------------------------------------------------------


def _stamp(frame: pl.DataFrame, run_id: str, business_date: date) -> list[dict[str, Any]]:
    rows = frame.with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(business_date.isoformat()).alias("business_date")
    )
    return rows.to_dicts()


def match_events(
    matches: pl.DataFrame,
    members: pl.DataFrame,
    lineage: pl.DataFrame | None,
    *,
    run_id: str,
    business_date: date,
) -> list[dict[str, Any]]:
    """One ``match_created`` per match (and per rule version and status it is made with)."""
    if matches.height == 0:
        return []
    lists = _record_lists(_with_lineage(members, lineage), "match_id")
    frame = matches.join(lists, on="match_id", how="left").select(
        pl.lit("match_created").alias("event_type"),
        "workflow",
        pl.col("match_id").alias("subject_id"),
        "status",
        "rule_id",
        "rule_version",
        pl.col("confidence").cast(pl.String).alias("confidence"),
        pl.col("run_id").alias("match_run_id"),
        "records",
        "correlation_ids",
        "raw_files",
        "sources",
        "mappings",
    )
    keys = [
        event_key("match_created", m, v, s)
        for m, v, s in frame.select("subject_id", "rule_version", "status").iter_rows()
    ]
    frame = frame.with_columns(pl.Series("event_key", keys, dtype=pl.String))
    return _stamp(frame.sort("subject_id"), run_id, business_date)


def exception_events(
    state: pl.DataFrame,
    previous: pl.DataFrame | None,
    lineage: pl.DataFrame | None,
    *,
    run_id: str,
    business_date: date,
) -> list[dict[str, Any]]:
    """State changes of ``recon.exceptions`` on ``business_date``: opened (new, or open again
    after being resolved), aged (still open), resolved (with when and why)."""
    if state.height == 0:
        return []
    prev_status = (
        previous.select("exception_id", pl.col("status").alias("__prev"))
        if previous is not None and previous.height
        else pl.DataFrame(schema={"exception_id": pl.String, "__prev": pl.String})
    )
    day = pl.lit(business_date)
    rows = _with_lineage(state, lineage).join(prev_status, on="exception_id", how="left")
    kind = (
        pl.when((pl.col("status") == "open") & (pl.col("__prev").fill_null("") != "open"))
        .then(pl.lit("exception_opened"))
        .when(pl.col("status") == "open")
        .then(pl.lit("exception_aged"))
        .when((pl.col("status") == "resolved") & (pl.col("resolved_on") == day))
        .then(pl.lit("exception_resolved"))
    )
    rows = rows.with_columns(kind.alias("event_type")).filter(pl.col("event_type").is_not_null())
    if rows.height == 0:
        return []
    discriminator = (
        pl.when(pl.col("event_type") == "exception_opened")
        .then(pl.col("first_seen").cast(pl.String))
        .when(pl.col("event_type") == "exception_aged")
        .then(day.cast(pl.String))
        .otherwise(pl.col("resolved_on").cast(pl.String))
    )
    rows = rows.with_columns(discriminator.alias("__disc"))
    keys = [
        event_key(t, e, d)
        for t, e, d in rows.select("event_type", "exception_id", "__disc").iter_rows()
    ]
    cor = [correlation_id(r) for r in rows["record_id"].to_list()]
    frame = rows.select(
        pl.Series("event_key", keys, dtype=pl.String),
        "event_type",
        "workflow",
        pl.col("exception_id").alias("subject_id"),
        "exception_type",
        "owner_role",
        "severity",
        "status",
        pl.col("age_days"),
        pl.col("amount").cast(pl.String),
        "currency",
        pl.concat_list(pl.format("{}:{}", "record_type", "record_id")).alias("records"),
        pl.concat_list(pl.Series("__cor", cor, dtype=pl.String)).alias("correlation_ids"),
        pl.concat_list(
            pl.when(pl.col("record_type") == "file")
            .then(pl.col("record_id"))
            .otherwise(pl.col("raw_sha256"))
        )
        .list.drop_nulls()
        .alias("raw_files"),
        pl.concat_list(pl.coalesce("source_file", "source_request"))
        .list.drop_nulls()
        .alias("sources"),
        pl.concat_list(pl.col("mapping")).list.drop_nulls().alias("mappings"),
        "detail",
        "resolution",
    )
    return _stamp(frame.sort("event_type", "subject_id"), run_id, business_date)


def journal_events(
    proposals: pl.DataFrame,
    matches: pl.DataFrame,
    members: pl.DataFrame,
    lineage: pl.DataFrame | None,
    *,
    run_id: str,
    business_date: date,
) -> list[dict[str, Any]]:
    """``journal_proposed`` per proposed journal, ``journal_superseded`` per journal that a
    later run replaced, with the match, rule version and raw files behind it."""
    if proposals.height == 0:
        return []
    heads = proposals.group_by("journal_id", "status").agg(
        pl.col("match_id").first(),
        pl.col("entity").first(),
        pl.col("currency").first(),
        pl.col("posting_date").first().cast(pl.String),
        pl.col("debit").sum().cast(pl.String).alias("total"),
        pl.len().alias("lines"),
        pl.col("idempotency_key").sort().alias("idempotency_keys"),
    )
    heads = heads.filter(pl.col("status").is_in(["proposed", "superseded"]))
    lists = _record_lists(_with_lineage(members, lineage), "match_id")
    frame = (
        heads.join(
            matches.select("match_id", "workflow", "rule_id", "rule_version"),
            on="match_id",
            how="left",
        )
        .join(lists, on="match_id", how="left")
        .with_columns(
            pl.when(pl.col("status") == "superseded")
            .then(pl.lit("journal_superseded"))
            .otherwise(pl.lit("journal_proposed"))
            .alias("event_type")
        )
    )
    keys = [event_key(t, j) for t, j in frame.select("event_type", "journal_id").iter_rows()]
    frame = frame.select(
        pl.Series("event_key", keys, dtype=pl.String),
        "event_type",
        "workflow",
        pl.col("journal_id").alias("subject_id"),
        "status",
        "match_id",
        "rule_id",
        "rule_version",
        "entity",
        "currency",
        "posting_date",
        "total",
        "lines",
        "idempotency_keys",
        "records",
        "correlation_ids",
        "raw_files",
        "sources",
        "mappings",
    )
    return _stamp(frame.sort("event_type", "subject_id"), run_id, business_date)


# --- the log file ----------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _known_keys(path: Path) -> set[str]:
    if not path.exists():
        return set()
    keys: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                keys.add(json.loads(line)["event_key"])
    return keys


def append_events(
    home: Path, events: Iterable[Mapping[str, Any]], now: datetime | None = None
) -> int:
    """Append events not yet recorded (by ``event_key``); returns how many were written."""
    path = audit_path(home)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with _locked(path.parent):
        known = _known_keys(path)
        lines = []
        for event in events:
            key = event.get("event_key")
            if not key:
                raise ValueError(f"audit event without event_key: {event!r}")
            if event.get("event_type") not in EVENT_TYPES:
                raise ValueError(f"unknown audit event type {event.get('event_type')!r}")
            if key in known:
                continue
            known.add(key)
            record = {**event, "recorded_at": stamp}
            lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str))
        if lines:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    return len(lines)


def read_events(
    home: Path,
    *,
    event_type: str | None = None,
    subject_id: str | None = None,
    record: str | None = None,
) -> list[dict[str, Any]]:
    """Events in the order written, optionally only one type, subject or record
    (``record_type:record_id``)."""
    path = audit_path(home)
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            event = json.loads(line)
            if event_type is not None and event.get("event_type") != event_type:
                continue
            if subject_id is not None and event.get("subject_id") != subject_id:
                continue
            if record is not None and record not in (event.get("records") or []):
                continue
            out.append(event)
    return out
