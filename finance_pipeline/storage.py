"""Where the lake lives: a local folder or an fsspec URL (``file://``, ``s3://``, ``memory://``).

The lake layout is the same everywhere: ``<root>/<table>/business_date=<D>/data.parquet``.
A partition is replaced atomically: locally by writing a temp file and renaming it, on an
object store by a single PUT of the whole object (readers see the old object or the new one,
never half of it). This module is the only implementation; ``lake.py`` is the functional
front door the pipeline calls.

``$FINANCE_PIPELINE_LAKE_URL`` moves the lake (``Home.lake_location``). ``s3://`` needs the
``s3fs`` package (extra ``s3``); credentials come from the usual AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``
for an S3-compatible server), never from config files. ``$FINANCE_PIPELINE_LAKE_ENDPOINT_URL``
sets the endpoint for the lake only, when ``AWS_ENDPOINT_URL`` would also redirect other AWS
clients of the process.

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
LAKE_ENDPOINT_ENV = "FINANCE_PIPELINE_LAKE_ENDPOINT_URL"
LOCAL_PROTOCOLS = ("file", "local")
# Flat key spaces: a "folder" needs no creating, and listing a prefix is one request.
OBJECT_STORE_PROTOCOLS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")
PARTITION_FILE = "data.parquet"


def _s3_endpoint() -> str | None:
    """The S3-compatible server from the environment, the lake's own setting first."""
    for name in (LAKE_ENDPOINT_ENV, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if value := os.environ.get(name):
            return value
    return None


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

        options = dict(self.storage_options)
        if not self.is_local:
            # Another process (a run worker, the daemon) may have written since the last
            # listing: never answer "which partitions exist" from a cached listing.
            options.setdefault("use_listings_cache", False)
            if self.protocol in ("s3", "s3a") and (endpoint := _s3_endpoint()):
                # Named explicitly (botocore would also read AWS_ENDPOINT_URL*) so that fsspec's
                # cached filesystem is keyed on the server it talks to.
                options.setdefault("endpoint_url", endpoint)
        try:
            return fsspec.filesystem(self.protocol, **options)
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

    def partition_dates(self, table: str, upto: date | None = None) -> list[date]:
        """Business dates with a partition of ``table`` (on or before ``upto``), oldest first."""
        if self.is_local:
            folder = Path(self._join(table))
            found = [str(p) for p in folder.glob(f"business_date=*/{PARTITION_FILE}")]
        else:
            # One recursive listing of the table's prefix (a glob costs a request per level;
            # s3fs takes the key prefix server-side, and then skips a HEAD when none match).
            prefix = self._join(table, "business_date=").lstrip("/")  # memory:// adds a "/"
            options = {"prefix": "business_date="} if self.protocol in ("s3", "s3a") else {}
            listed = [p.lstrip("/") for p in self.filesystem().find(self._join(table), **options)]
            found = [
                path
                for path in listed
                if path.startswith(prefix)
                and path.endswith(f"/{PARTITION_FILE}")
                and path.count("/") == prefix.count("/") + 1
            ]
        days = []
        for path in found:
            folder_name = str(path).rstrip("/").split("/")[-2]
            try:
                day = date.fromisoformat(folder_name.split("=", 1)[1])
            except (IndexError, ValueError):
                continue  # not a partition folder
            if upto is None or day <= upto:
                days.append(day)
        return sorted(days)

    def has_table(self, table: str) -> bool:
        return bool(self.partition_dates(table))

    def read_bytes(self, table: str, business_date: date) -> bytes | None:
        """The partition file's bytes, or None when there is no partition."""
        key = self.partition_key(table, business_date)
        if self.is_local:
            return Path(key).read_bytes() if os.path.exists(key) else None
        # On S3, a single GET (s3fs would first ask the size to split big objects: partitions
        # are small); a missing key is FileNotFoundError.
        options = {"max_concurrency": 1} if self.protocol in ("s3", "s3a") else {}
        try:
            return self.filesystem().cat_file(key, **options)
        except FileNotFoundError:
            return None

    def read_partition(
        self, table: str, business_date: date, columns: list[str] | None = None
    ) -> pl.DataFrame | None:
        """One partition, or None. With ``columns``, only those of them the file has (a
        partition written before a column existed simply lacks it)."""
        key = self.partition_key(table, business_date)
        source: str | io.BytesIO
        if self.is_local:
            if not os.path.exists(key):
                return None
            source = key
        else:
            data = self.read_bytes(table, business_date)
            if data is None:
                return None
            source = io.BytesIO(data)
        if columns is None:
            return pl.read_parquet(source, hive_partitioning=False)
        present = set(pl.read_parquet_schema(source))
        if isinstance(source, io.BytesIO):
            source.seek(0)
        wanted = [c for c in columns if c in present]
        return pl.read_parquet(source, columns=wanted, hive_partitioning=False)

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

    def read_table(
        self, table: str, upto: date | None = None, partition_column: str | None = None
    ) -> pl.DataFrame | None:
        """Every partition of ``table`` up to ``upto``, oldest first, or None when it has none.

        Rows keep their own ``business_date`` column; ``partition_column`` names an extra
        ``Date`` column holding the date of the partition each row was read from.
        """
        frames = []
        for day in self.partition_dates(table, upto):
            frame = self.read_partition(table, day)
            if frame is None:  # removed since it was listed
                continue
            if partition_column is not None:
                frame = frame.with_columns(pl.lit(day, dtype=pl.Date).alias(partition_column))
            frames.append(frame)
        return pl.concat(frames, how="diagonal_relaxed") if frames else None

    def write_partition(self, table: str, business_date: date, frame: pl.DataFrame) -> str:
        """Replace the partition with ``frame`` atomically; returns where it went (the local
        path, or the object's URL).

        This is the one place the lake is written: ``lake.write_partition`` delegates here.
        """
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
        if self.protocol not in OBJECT_STORE_PROTOCOLS:
            fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(key, buffer.getvalue())  # one PUT: readers never see half a file
        return self.partition_url(table, business_date)


def as_location(lake: str | os.PathLike[str] | LakeLocation) -> LakeLocation:
    """Accept what callers hold today (a ``Path``) and what they may hold later."""
    return lake if isinstance(lake, LakeLocation) else LakeLocation.parse(lake)
