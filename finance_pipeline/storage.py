"""Where the lake lives: a local folder or an fsspec URL (``file://``, ``s3://``, ``memory://``).

The lake layout is the same everywhere: ``<root>/<table>/business_date=<D>/data.parquet``.
A partition is replaced atomically: locally by writing a temp file and renaming it (as
``lake.py`` does), on an object store by a single PUT of the whole object (readers see the old
object or the new one, never half of it). ``s3://`` needs the ``s3fs`` package; credentials
come from the usual AWS environment variables or ``storage_options``, never from config files.

``fsspec`` is already installed with Dagster (through ``universal_pathlib``).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import polars as pl

LAKE_URL_ENV = "FINANCE_PIPELINE_LAKE_URL"
LOCAL_PROTOCOLS = ("file", "local")
PARTITION_FILE = "data.parquet"


def _strip_protocol(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if not parsed.scheme or len(parsed.scheme) == 1:  # a plain path (or a Windows drive)
        return "file", str(Path(url).expanduser().resolve())
    if parsed.scheme in LOCAL_PROTOCOLS:
        return "file", str(Path(parsed.path).resolve())
    return parsed.scheme, f"{parsed.netloc}{parsed.path}".rstrip("/")


@dataclass(frozen=True)
class LakeLocation:
    """The lake root. ``root`` has no protocol (``bucket/prefix`` or ``/abs/path``)."""

    protocol: str
    root: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, where: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
    ) -> LakeLocation:
        protocol, root = _strip_protocol(os.fspath(where))
        return cls(protocol, root, dict(storage_options or {}))

    @classmethod
    def from_env(cls, default: str | os.PathLike[str]) -> LakeLocation:
        """``$FINANCE_PIPELINE_LAKE_URL`` when set, else ``default`` (``<home>/lake``)."""
        return cls.parse(os.environ.get(LAKE_URL_ENV) or default)

    @property
    def is_local(self) -> bool:
        return self.protocol == "file"

    @property
    def url(self) -> str:
        return f"file://{self.root}" if self.is_local else f"{self.protocol}://{self.root}"

    def local_path(self) -> Path:
        if not self.is_local:
            raise ValueError(f"{self.url} is not a local folder")
        return Path(self.root)

    def filesystem(self) -> Any:  # fsspec.AbstractFileSystem
        import fsspec

        try:
            return fsspec.filesystem(self.protocol, **self.storage_options)
        except ImportError as exc:
            raise ImportError(f"lake {self.url}: {exc} (install the fsspec backend)") from exc

    # --- layout ---------------------------------------------------------------------------

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def partition_key(self, table: str, business_date: date) -> str:
        """Path of a partition without the protocol (what fsspec calls take)."""
        return self._join(table, f"business_date={business_date.isoformat()}", PARTITION_FILE)

    def partition_url(self, table: str, business_date: date) -> str:
        key = self.partition_key(table, business_date)
        return key if self.is_local else f"{self.protocol}://{key}"

    def table_glob(self, table: str) -> str:
        """A glob Polars reads directly (local path, or URL for its native cloud readers)."""
        key = self._join(table, "business_date=*", PARTITION_FILE)
        return key if self.is_local else f"{self.protocol}://{key}"

    # --- reads and writes -----------------------------------------------------------------

    def partition_dates(self, table: str) -> list[date]:
        fs = self.filesystem()
        found = fs.glob(self._join(table, "business_date=*", PARTITION_FILE))
        days = []
        for path in found:
            folder = str(path).rstrip("/").split("/")[-2]
            days.append(date.fromisoformat(folder.split("=", 1)[1]))
        return sorted(days)

    def has_table(self, table: str) -> bool:
        return bool(self.partition_dates(table))

    def read_partition(self, table: str, business_date: date) -> pl.DataFrame | None:
        key = self.partition_key(table, business_date)
        if self.is_local:
            return pl.read_parquet(key) if os.path.exists(key) else None
        fs = self.filesystem()
        if not fs.exists(key):
            return None
        with fs.open(key, "rb") as handle:
            return pl.read_parquet(handle)

    def read_column(self, table: str, column: str, days: list[date]) -> list[str]:
        """One column of some partitions, as strings (locally only that column is read)."""
        if not days:
            return []
        if self.is_local:
            paths = [self.partition_key(table, d) for d in days]
            frame = pl.scan_parquet(paths, hive_partitioning=False).select(column).collect()
        else:
            parts = [self.read_partition(table, d) for d in days]
            frame = pl.concat([p.select(column) for p in parts if p is not None])
        return frame[column].cast(pl.String).drop_nulls().to_list()

    def read_table(self, table: str) -> pl.DataFrame | None:
        """Every partition of ``table`` (rows keep their own ``business_date`` column)."""
        days = self.partition_dates(table)
        frames = [self.read_partition(table, d) for d in days]
        found = [f for f in frames if f is not None]
        return pl.concat(found, how="diagonal_relaxed") if found else None

    def write_partition(self, table: str, business_date: date, frame: pl.DataFrame) -> str:
        """Replace the partition with ``frame`` atomically; returns where it went."""
        key = self.partition_key(table, business_date)
        if self.is_local:
            target = Path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".write-", suffix=".parquet")
            os.close(fd)
            try:
                frame.write_parquet(tmp, compression="zstd", statistics=True)
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            return str(target)
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", statistics=True)
        fs = self.filesystem()
        fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(key, buffer.getvalue())  # one PUT: readers never see half a file
        return self.partition_url(table, business_date)


def as_location(lake: str | os.PathLike[str] | LakeLocation) -> LakeLocation:
    """Accept what callers hold today (a ``Path``) and what they may hold later."""
    return lake if isinstance(lake, LakeLocation) else LakeLocation.parse(lake)
