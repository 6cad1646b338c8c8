"""Collect a business date's deliveries from every configured source into the raw archive."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from finance_pipeline.archive import Arrival, RawArchive
from finance_pipeline.config import PipelineConfig, SourceConfig
from finance_pipeline.connectors import is_api_source, sync_api_source
from finance_pipeline.connectors.http import ConnectorError, HttpStatusError
from finance_pipeline.transports import TransportError, open_source
from finance_pipeline.transports.base import FileNotReadyError, UnsafeNameError
from finance_pipeline.transports.sftp import HostKeyError, SftpAuthError

log = logging.getLogger(__name__)

MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    "arrival_id": pl.String,
    "source": pl.String,
    "remote_path": pl.String,
    "file_name": pl.String,
    "size": pl.Int64,
    "mtime": pl.Float64,
    "sha256": pl.String,
    "arrived_at": pl.String,
    "run_id": pl.String,
    "business_date": pl.String,
    "duplicate_of": pl.String,
}

SOURCE_ERROR_SCHEMA: dict[str, pl.DataType] = {
    "business_date": pl.Date,
    "source": pl.String,
    "error": pl.String,
}


@dataclass
class IngestResult:
    arrivals: list[Arrival] = field(default_factory=list)
    source_errors: dict[str, str] = field(default_factory=dict)

    def errors_frame(self, business_date: date) -> pl.DataFrame:
        """One row per source that could not be read today (kept for the exceptions layer)."""
        rows = [
            {"business_date": business_date, "source": name, "error": error}
            for name, error in sorted(self.source_errors.items())
        ]
        return pl.DataFrame(rows, schema=SOURCE_ERROR_SCHEMA, orient="row")

    def frame(self) -> pl.DataFrame:
        rows = sorted((asdict(a) for a in self.arrivals), key=lambda r: r["arrival_id"])
        return pl.DataFrame(rows, schema=MANIFEST_SCHEMA, orient="row")


def archived_arrivals(archive: RawArchive, source_name: str, business_date: date) -> list[Arrival]:
    """What this source already delivered for the day (kept even if the server is down now)."""
    day = business_date.isoformat()
    return [a for a in archive.arrivals() if a.source == source_name and a.business_date == day]


def ingest_source(
    source: SourceConfig,
    home: Path,
    archive: RawArchive,
    business_date: date,
    run_id: str,
) -> list[Arrival]:
    """Archive every ready file of ``source`` whose name carries ``business_date``.

    Files already archived for this source and date are kept in the result even when the
    server no longer lists them (they were moved after download), so a rerun of the
    partition sees the same deliveries.
    """
    arrivals = {a.arrival_id: a for a in archived_arrivals(archive, source.name, business_date)}
    with open_source(source, home) as transport:
        for remote in transport.list(source.pattern):
            if source.business_date_of(remote.name) != business_date:
                continue
            try:
                data = transport.read(remote)
            except FileNotReadyError as exc:
                log.info("source %s: %s not ready yet: %s", source.name, remote.name, exc)
                continue
            arrival = archive.store(
                data,
                source=source.name,
                remote_path=remote.remote_path,
                file_name=remote.name,
                size=remote.size,
                mtime=remote.mtime,
                run_id=run_id,
                business_date=business_date,
            )
            transport.acknowledge(remote)  # optional server-side move/rename after archiving
            arrivals[arrival.arrival_id] = arrival
    return list(arrivals.values())


def fetch_source(
    source: SourceConfig, home: Path, business_date: date, run_id: str
) -> list[Arrival]:
    """One source's deliveries for the day, from a file drop or an API; raises on failure."""
    archive = RawArchive(home / "archive")
    if is_api_source(source):
        return sync_api_source(source, home, business_date, run_id, archive=archive)
    return ingest_source(source, home, archive, business_date, run_id)


# Errors that a retry cannot fix: an unsafe remote name, an unknown host key, refused
# credentials, or an API answering 4xx (other than timeout/too-many-requests).
PERMANENT_ERRORS: tuple[type[Exception], ...] = (UnsafeNameError, HostKeyError, SftpAuthError)
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


def is_transient(exc: Exception) -> bool:
    """Whether retrying later may succeed (a server down, a timeout, a 5xx, a missing mount)."""
    if isinstance(exc, PERMANENT_ERRORS):
        return False
    if isinstance(exc, HttpStatusError):
        return exc.status >= 500 or exc.status in RETRYABLE_HTTP_STATUSES
    return isinstance(exc, (TransportError, ConnectorError))


def ingest_one(
    source: SourceConfig,
    home: Path,
    business_date: date,
    run_id: str,
    reraise: Callable[[Exception], bool] = lambda exc: False,
) -> IngestResult:
    """One source for the day; a failure is recorded, keeping what was archived before.

    ``reraise`` lets a caller with its own retries (the Dagster step) raise instead.
    """
    result = IngestResult()
    try:
        result.arrivals.extend(fetch_source(source, home, business_date, run_id))
    except (TransportError, ConnectorError) as exc:
        if reraise(exc):
            raise
        log.warning("source %s failed: %s", source.name, exc)
        result.source_errors[source.name] = str(exc)
        archive = RawArchive(home / "archive")
        result.arrivals.extend(archived_arrivals(archive, source.name, business_date))
    return result


def combine(results: list[IngestResult]) -> IngestResult:
    """The day's result over every source (each source ingested on its own)."""
    merged = IngestResult()
    for result in results:
        merged.arrivals.extend(result.arrivals)
        merged.source_errors.update(result.source_errors)
    return merged


def ingest_day(
    config: PipelineConfig, home: Path, business_date: date, run_id: str
) -> IngestResult:
    """Every source in turn; one source failing (server down, folder missing) stops no other."""
    return combine([ingest_one(s, home, business_date, run_id) for s in config.sources])
