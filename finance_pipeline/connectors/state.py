"""Committed connector cursors: where a sync resumes after a crash.

One small JSON file per stream, replaced atomically (write, fsync, rename), so a crash leaves
either the previous committed state or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any


class CursorStore:
    """Per-stream state under ``root`` (``<home>/state/connectors`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:80].strip("._") or "stream"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self.root / f"{readable}-{digest}.json"

    def load(self, key: str) -> dict[str, Any]:
        path = self.path_for(key)
        if not path.exists():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def commit(self, key: str, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path_for(key)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".commit-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**state, "key": key}, handle, sort_keys=True, default=str)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
