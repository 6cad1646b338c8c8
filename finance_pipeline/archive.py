"""The immutable raw archive: every delivered file stored once under its SHA-256.

``objects/<aa>/<sha256>`` holds the bytes (read-only, never rewritten). ``manifest.jsonl`` has one
row per arrival (source, remote path, size, mtime, hash, arrival time, run id, business date);
the same bytes arriving again under any name get a row marked ``duplicate_of`` the first
arrival, so nothing downstream reads them twice. Seeing the same delivery again (same source,
path and bytes, as on a rerun) adds nothing. ``status.jsonl`` records each file's parse status
as events; the latest one wins. Both logs are append-only, guarded by a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path


@dataclass(frozen=True)
class Arrival:
    arrival_id: str
    source: str
    remote_path: str
    file_name: str
    size: int
    mtime: float
    sha256: str
    arrived_at: str
    run_id: str
    business_date: str | None
    duplicate_of: str | None

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawArchive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.manifest_path = root / "manifest.jsonl"
        self.status_path = root / "status.jsonl"
        self.objects.mkdir(parents=True, exist_ok=True)

    def object_path(self, sha: str) -> Path:
        return self.objects / sha[:2] / sha

    def read(self, sha: str) -> bytes:
        data = self.object_path(sha).read_bytes()
        if sha256_hex(data) != sha:
            raise OSError(f"archive object {sha} does not match its hash")
        return data

    def _store_bytes(self, data: bytes, sha: str) -> None:
        target = self.object_path(sha)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def arrivals(self) -> list[Arrival]:
        if not self.manifest_path.exists():
            return []
        with self.manifest_path.open(encoding="utf-8") as handle:
            return [Arrival(**json.loads(line)) for line in handle if line.strip()]

    def store(
        self,
        data: bytes,
        *,
        source: str,
        remote_path: str,
        file_name: str,
        size: int,
        mtime: float,
        run_id: str,
        business_date: date | None,
        now: datetime | None = None,
    ) -> Arrival:
        """Archive one delivery and return its manifest row (existing row if seen before)."""
        sha = sha256_hex(data)
        arrival_id = sha256_hex(f"{source}\x1f{remote_path}\x1f{sha}".encode())[:20]
        with self._locked():
            known = self.arrivals()
            for row in known:
                if row.arrival_id == arrival_id:
                    return row
            first = next((r for r in known if r.sha256 == sha and r.duplicate_of is None), None)
            self._store_bytes(data, sha)
            arrival = Arrival(
                arrival_id=arrival_id,
                source=source,
                remote_path=remote_path,
                file_name=file_name,
                size=size,
                mtime=mtime,
                sha256=sha,
                arrived_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
                run_id=run_id,
                business_date=business_date.isoformat() if business_date else None,
                duplicate_of=first.arrival_id if first else None,
            )
            self._append(self.manifest_path, asdict(arrival))
            return arrival

    def record_status(self, sha: str, status: str, detail: str, run_id: str) -> None:
        """Append a parse-status event (parsed | quarantined | failed_checks) for a file."""
        event = {
            "sha256": sha,
            "status": status,
            "detail": detail,
            "run_id": run_id,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self._locked():
            self._append(self.status_path, event)

    def statuses(self) -> dict[str, dict[str, str]]:
        """Latest parse status per file hash."""
        if not self.status_path.exists():
            return {}
        latest: dict[str, dict[str, str]] = {}
        with self.status_path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    event = json.loads(line)
                    latest[event["sha256"]] = event
        return latest

    @staticmethod
    def _append(path: Path, row: dict[str, object]) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
