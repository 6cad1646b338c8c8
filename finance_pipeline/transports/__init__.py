"""Transports: where files come from (local folders, SFTP) behind one ``FileSource``."""

from __future__ import annotations

from pathlib import Path

from finance_pipeline.config import SourceConfig
from finance_pipeline.transports.base import FileSource, RemoteFile, TransportError, safe_name
from finance_pipeline.transports.local import LocalFolderSource

__all__ = ["FileSource", "RemoteFile", "TransportError", "open_source", "safe_name"]


def open_source(source: SourceConfig, home: Path) -> FileSource:
    """Build the ``FileSource`` a source's ``transport`` block describes."""
    transport = source.transport
    kind = transport["type"]
    if kind == "local":
        folder = Path(transport["path"])
        return LocalFolderSource(folder if folder.is_absolute() else home / folder)
    raise TransportError(f"source {source.name!r}: unsupported transport type {kind!r}")
