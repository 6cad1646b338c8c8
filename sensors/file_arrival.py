"""File-arrival sensors: one per configured file source (local folder or SFTP).

The cursor remembers every file version seen (path, size, mtime and the SHA-256 where it is
known), so a file triggers exactly one run however many ticks see it; new bytes under the same
name are a new version and trigger a new run. The run's ``run_key`` names the file version, so
even a lost cursor cannot launch the same version twice. Only files the source's readiness
rule calls complete are listed (see ``finance_pipeline/transports/settle.py``).
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from assets.resources import PipelineResource
from finance_pipeline.archive import RawArchive, sha256_hex
from finance_pipeline.config import SourceConfig
from finance_pipeline.masking import mask_file_name
from finance_pipeline.transports import FileSource, RemoteFile, TransportError, open_source
from sensors.jobs import daily_reconciliation_job
from sensors.partitioning import NOT_YET, partition_for
from sensors.targeting import narrow_to_source

FILE_TRANSPORTS = ("local", "sftp")
CURSOR_VERSION = 1
TRIGGER_TAG = "finance_pipeline/trigger"
SOURCE_TAG = "finance_pipeline/source"
FILE_TAG = "finance_pipeline/file"


def sensor_name(source: SourceConfig, suffix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{source.name}_{suffix}")


def masked_file_name(source: SourceConfig, name: str) -> str:
    """File names can carry account numbers: keep the business date, mask long digit runs."""
    return mask_file_name(name, source.date_pattern)


@dataclass
class FileCursor:
    """What a file sensor has seen: ``remote path -> [size, mtime, sha256 or None]``."""

    files: dict[str, list] = field(default_factory=dict)

    @classmethod
    def loads(cls, text: str | None) -> "FileCursor":
        if not text:
            return cls()
        raw = json.loads(text)
        if raw.get("v") != CURSOR_VERSION:
            return cls()
        return cls(files=dict(raw.get("files", {})))

    def dumps(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, "files": self.files}, sort_keys=True)


@dataclass
class Scan:
    run_requests: list[dg.RunRequest]
    cursor: str
    notes: list[str]


def _known_hashes(archive: RawArchive | None, source: str) -> dict[tuple[str, int, int], str]:
    """Hashes of versions already archived, by (remote path, size, whole-second mtime)."""
    if archive is None:
        return {}
    return {
        (a.remote_path, a.size, int(a.mtime)): a.sha256
        for a in archive.arrivals()
        if a.source == source
    }


def scan_source(
    source: SourceConfig,
    transport: FileSource,
    cursor: str | None,
    *,
    archive: RawArchive | None = None,
    hash_bytes: bool = False,
    today: date | None = None,
) -> Scan:
    """Compare a source's ready files with the cursor; one RunRequest per new file version.

    ``hash_bytes`` reads each new version to hash it (cheap for a local folder); otherwise the
    hash is taken from the archive when that version was already archived.
    """
    state = FileCursor.loads(cursor)
    known = _known_hashes(archive, source.name)
    arrival_day = today or datetime.now(UTC).date()
    listed: list[RemoteFile] = transport.list(source.pattern)
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    seen_now: dict[str, list] = {}
    for file in listed:
        previous = state.files.get(file.remote_path)
        if previous and previous[0] == file.size and int(previous[1]) == int(file.mtime):
            seen_now[file.remote_path] = previous
            continue
        sha = known.get((file.remote_path, file.size, int(file.mtime)))
        shown = masked_file_name(source, file.name)
        if sha is None and hash_bytes:
            try:
                sha = sha256_hex(transport.read(file))
            except (OSError, TransportError) as exc:  # gone or changed since listed
                notes.append(f"{shown}: not readable yet ({type(exc).__name__}); next tick")
                continue
        if previous and sha and previous[2] == sha:
            seen_now[file.remote_path] = [file.size, file.mtime, sha]
            notes.append(f"{shown}: touched, same bytes; no new run")
            continue
        day = source.business_date_of(file.name) or arrival_day
        partition, why = partition_for(day)
        if partition is None:
            notes.append(f"{shown}: business date {day} has no partition ({why})")
            if why != NOT_YET:  # a future-dated file is looked at again once its day exists
                seen_now[file.remote_path] = [file.size, file.mtime, sha]
            continue
        version = sha or f"{file.size}:{int(file.mtime)}"
        requests.append(
            dg.RunRequest(
                run_key=f"{source.name}:{file.remote_path}:{version}",
                partition_key=partition,
                tags={
                    TRIGGER_TAG: "file_arrival",
                    SOURCE_TAG: source.name,
                    FILE_TAG: shown,
                },
            )
        )
        notes.append(f"{shown}: new version, run for {partition}")
        seen_now[file.remote_path] = [file.size, file.mtime, sha]
    # Forget files no longer listed (moved away after download): the cursor stays small.
    state.files = seen_now
    return Scan(requests, state.dumps(), notes)


def build_file_arrival_sensor(
    source: SourceConfig,
    *,
    minimum_interval_seconds: int | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor that requests a daily run for each new version of a file in ``source``."""
    if source.transport.get("type") not in FILE_TRANSPORTS:
        raise ValueError(f"source {source.name!r} is not a file source")
    interval = int(minimum_interval_seconds or source.transport.get("poll_seconds", 60))

    @dg.sensor(
        name=sensor_name(source, "file_arrival"),
        job=daily_reconciliation_job,
        minimum_interval_seconds=interval,
        default_status=default_status,
        description=f"New files of {source.name} ({source.transport['type']}) -> a daily run.",
    )
    def file_arrival(
        context: dg.SensorEvaluationContext, pipeline: PipelineResource
    ) -> dg.SensorResult:
        from finance_pipeline.transports.sftp import HostKeyError, SftpAuthError

        home = pipeline.home_dir()
        kind = source.transport.get("type")
        try:
            with open_source(source, home.root) as transport:
                scan = scan_source(
                    source,
                    transport,
                    context.cursor,
                    archive=RawArchive(home.archive) if kind == "sftp" else None,
                    hash_bytes=kind == "local",
                )
        except (HostKeyError, SftpAuthError):
            raise  # a security or credentials problem must fail the tick visibly
        except TransportError as exc:
            context.log.warning(f"{source.name}: source unavailable: {exc}")
            return dg.SensorResult(
                skip_reason=f"{source.name} unavailable: {exc}", cursor=context.cursor
            )
        for note in scan.notes:
            context.log.info(f"{source.name}: {note}")
        if not scan.run_requests:
            return dg.SensorResult(skip_reason=f"no new files in {source.name}", cursor=scan.cursor)
        requests = narrow_to_source(context, source.name, home, scan.run_requests)
        return dg.SensorResult(run_requests=requests, cursor=scan.cursor)

    return file_arrival
