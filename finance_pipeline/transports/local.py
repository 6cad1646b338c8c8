"""A local folder as a file source (export drops, the demo landing zone)."""

from __future__ import annotations

from pathlib import Path

from finance_pipeline.transports.base import (
    FileSource,
    RemoteFile,
    TransportError,
    matches,
    safe_name,
)


class LocalFolderSource(FileSource):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"local:{folder}"

    def list(self, pattern: str = "*") -> list[RemoteFile]:
        if not self.folder.is_dir():
            raise TransportError(f"{self.folder}: folder does not exist")
        found = []
        for entry in sorted(self.folder.iterdir()):
            if not entry.is_file() or not matches(entry.name, pattern):
                continue
            stat = entry.stat()
            found.append(RemoteFile(safe_name(entry.name), stat.st_size, stat.st_mtime, entry.name))
        return found

    def read(self, file: RemoteFile) -> bytes:
        return (self.folder / safe_name(file.remote_path)).read_bytes()
