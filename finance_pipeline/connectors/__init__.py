"""HTTP API connectors (Stripe, generic REST): every response page lands in the raw archive.

A source is an API source when its transport block is ``{type: http, connector: stripe|rest}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from finance_pipeline.archive import Arrival, RawArchive
from finance_pipeline.config import SourceConfig
from finance_pipeline.connectors.http import (
    Backoff,
    ConnectorError,
    HttpCore,
    HttpStatusError,
    PageRequest,
    SyncResult,
)
from finance_pipeline.connectors.rest import RestConnector
from finance_pipeline.connectors.state import CursorStore
from finance_pipeline.connectors.stripe import StripeConnector, minor_units

__all__ = [
    "Backoff",
    "ConnectorError",
    "CursorStore",
    "HttpCore",
    "HttpStatusError",
    "PageRequest",
    "RestConnector",
    "StripeConnector",
    "SyncResult",
    "is_api_source",
    "minor_units",
    "open_connector",
    "sync_api_source",
]

CONNECTORS = {"stripe": StripeConnector, "rest": RestConnector}


def is_api_source(source: SourceConfig) -> bool:
    return source.transport.get("type") == "http"


def open_connector(
    source: SourceConfig,
    home: Path,
    *,
    environ: Mapping[str, str] | None = None,
    archive: RawArchive | None = None,
) -> StripeConnector | RestConnector:
    """The connector a ``transport: {type: http, connector: ...}`` block describes."""
    if not is_api_source(source):
        raise ConnectorError(f"source {source.name!r} is not an http source")
    name = source.transport.get("connector", "rest")
    if name not in CONNECTORS:
        raise ConnectorError(
            f"source {source.name!r}: transport.connector {name!r} is not one of "
            f"{sorted(CONNECTORS)}"
        )
    return CONNECTORS[name].from_config(
        source.name, source.transport, home, environ=environ, archive=archive
    )


def sync_api_source(
    source: SourceConfig,
    home: Path,
    business_date: date,
    run_id: str,
    *,
    archive: RawArchive | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Arrival]:
    """Pull everything new from an API source into the archive; the manifest rows it made."""
    connector = open_connector(source, home, environ=environ, archive=archive)
    try:
        results = connector.sync_all(run_id=run_id, business_date=business_date)
    finally:
        connector.close()
    return [page for result in results for page in result.pages]
