"""Transports: where files come from (local folders, SFTP) behind one ``FileSource``."""

from __future__ import annotations

from pathlib import Path

from finance_pipeline.config import SourceConfig
from finance_pipeline.transports.base import FileSource, RemoteFile, TransportError, safe_name
from finance_pipeline.transports.local import LocalFolderSource
from finance_pipeline.transports.settle import (
    LOCAL_DEFAULT_RULE,
    SFTP_DEFAULT_RULE,
    ReadyRule,
    ReadySource,
)

__all__ = ["FileSource", "RemoteFile", "TransportError", "open_source", "safe_name"]


def open_source(source: SourceConfig, home: Path) -> FileSource:
    """Build the ``FileSource`` a source's ``transport`` block describes.

    A ``ready`` block (settle window, ``.done`` marker or ``.part`` suffix) wraps the source so
    only finished files are listed; SFTP sources always get one (see ``settle.py``).
    """
    transport = source.transport
    kind = transport["type"]
    if kind == "local":
        folder = Path(transport["path"])
        local = LocalFolderSource(folder if folder.is_absolute() else home / folder)
        if not transport.get("ready"):
            return local
        return ReadySource(
            local, ReadyRule.from_config(transport["ready"], default=LOCAL_DEFAULT_RULE)
        )
    if kind == "sftp":
        from finance_pipeline.transports.sftp import SftpSource

        sftp = SftpSource.from_config(transport, home, source_name=source.name)
        rule = ReadyRule.from_config(transport.get("ready"), default=SFTP_DEFAULT_RULE)
        return ReadySource(sftp, rule)
    raise TransportError(f"source {source.name!r}: unsupported transport type {kind!r}")
