"""One interface for every way files arrive, so sensors and assets never care which it is."""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from dataclasses import dataclass


class TransportError(RuntimeError):
    """A source could not be listed or read."""


class UnsafeNameError(TransportError):
    """A remote file name that would escape the folder it was listed in."""


class FileNotReadyError(TransportError):
    """The file changed while it was being taken (still being written): try on a later look."""


@dataclass(frozen=True, order=True)
class RemoteFile:
    """A file as a source lists it. ``name`` is a checked bare file name, never a path."""

    name: str
    size: int
    mtime: float
    remote_path: str

    @property
    def version_key(self) -> str:
        """What identifies this version of the file before its bytes are read."""
        return f"{self.remote_path}|{self.size}|{int(self.mtime)}"


def safe_name(name: str) -> str:
    """Accept a bare file name; refuse anything that could be used as a path.

    Remote servers choose file names, so a name like ``../x`` or ``/etc/passwd`` must never
    reach the local file system as a path.
    """
    if (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith("~")
        or (len(name) > 1 and name[1] == ":")
    ):
        raise UnsafeNameError(f"refusing unsafe remote file name {name!r}")
    return name


def matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


class FileSource(ABC):
    """A place files are delivered to: a local folder, an SFTP server."""

    description: str

    @abstractmethod
    def list(self, pattern: str = "*") -> list[RemoteFile]:
        """Files ready to take, sorted by name."""

    @abstractmethod
    def read(self, file: RemoteFile) -> bytes:
        """The file's bytes."""

    def acknowledge(self, file: RemoteFile) -> None:
        """Called once a file's bytes are safely archived (SFTP may move it); default: nothing."""
        return None

    def close(self) -> None:
        """Release connections; a local folder holds none."""
        return None

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
