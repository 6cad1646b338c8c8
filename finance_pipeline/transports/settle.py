"""Readiness rules: when a delivered file is complete enough to take.

Senders write files in place, so a file that is listed may still be growing. Three conventions
are supported, chosen per source in the ``transport.ready`` block:

* stability (the default): the file's size and mtime are the same in two looks taken
  ``look_interval`` seconds apart, and its mtime is at least ``settle_seconds`` old;
* ``marker: .done``: ``X`` is taken only once ``X.done`` exists (the marker is never taken);
* ``part_suffix: .part``: the sender writes ``X.part`` and renames it to ``X`` when complete,
  so ``*.part`` files are never taken and everything else is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from finance_pipeline.transports.base import FileSource, RemoteFile, TransportError, matches


@dataclass(frozen=True)
class ReadyRule:
    """How to tell a finished file from one still being written."""

    settle_seconds: float = 0.0
    look_interval: float = 0.0
    marker: str | None = None
    part_suffix: str | None = None

    @classmethod
    def from_config(
        cls, block: Mapping[str, Any] | None, *, default: ReadyRule | None = None
    ) -> ReadyRule:
        """Read a ``ready:`` block; keys missing from it keep ``default``'s values."""
        base = default or cls()
        if not block:
            return base
        unknown = set(block) - {"settle_seconds", "look_interval", "marker", "part_suffix"}
        if unknown:
            raise TransportError(f"transport.ready: unknown keys {sorted(unknown)}")
        rule = cls(
            settle_seconds=float(block.get("settle_seconds", base.settle_seconds)),
            look_interval=float(block.get("look_interval", base.look_interval)),
            marker=block.get("marker", base.marker),
            part_suffix=block.get("part_suffix", base.part_suffix),
        )
        for key in ("marker", "part_suffix"):
            value = getattr(rule, key)
            if value is not None and (
                not isinstance(value, str) or not value.startswith(".") or "/" in value
            ):
                raise TransportError(
                    f"transport.ready.{key}: {value!r} must be a suffix such as '.done'"
                )
        if rule.settle_seconds < 0 or rule.look_interval < 0:
            raise TransportError("transport.ready: seconds must not be negative")
        return rule

    @property
    def by_convention(self) -> bool:
        """A marker or part-file convention is the sender's own signal: no need to watch."""
        return self.marker is not None or self.part_suffix is not None

    @property
    def needs_two_looks(self) -> bool:
        return not self.by_convention and self.look_interval > 0

    def is_control_file(self, name: str) -> bool:
        """Markers and part files are signals, never data."""
        return bool(
            (self.marker and name.endswith(self.marker))
            or (self.part_suffix and name.endswith(self.part_suffix))
        )


#: SFTP senders usually write in place: watch for two looks and a 30 s quiet period.
SFTP_DEFAULT_RULE = ReadyRule(settle_seconds=30.0, look_interval=2.0)
#: A local folder keeps its old behaviour (take what is there) unless a ``ready`` block says so.
LOCAL_DEFAULT_RULE = ReadyRule()


def select_ready(
    rule: ReadyRule,
    first_look: Sequence[RemoteFile] | None,
    second_look: Sequence[RemoteFile],
    pattern: str,
    now: float,
) -> list[RemoteFile]:
    """The files of ``second_look`` that are complete under ``rule`` and match ``pattern``.

    ``first_look`` is the earlier listing (None when only one look was taken).
    """
    present = {f.name for f in second_look}
    earlier = {f.name: f for f in first_look} if first_look is not None else None
    ready: list[RemoteFile] = []
    for file in second_look:
        if rule.is_control_file(file.name) or not matches(file.name, pattern):
            continue
        if rule.marker:
            if file.name + rule.marker in present:
                ready.append(file)
            continue
        if rule.part_suffix:
            ready.append(file)
            continue
        if earlier is not None:
            before = earlier.get(file.name)
            if before is None or (before.size, before.mtime) != (file.size, file.mtime):
                continue
        if now - file.mtime < rule.settle_seconds:
            continue
        ready.append(file)
    return sorted(ready)


class ReadySource(FileSource):
    """Wraps any ``FileSource`` so that ``list`` only returns files that are complete."""

    def __init__(
        self,
        inner: FileSource,
        rule: ReadyRule,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.rule = rule
        self.description = inner.description
        self._clock = clock
        self._sleep = sleep

    def list(self, pattern: str = "*") -> list[RemoteFile]:
        first = None
        if self.rule.needs_two_looks:
            first = self.inner.list("*")
            self._sleep(self.rule.look_interval)
        second = self.inner.list("*")
        return select_ready(self.rule, first, second, pattern, self._clock())

    def read(self, file: RemoteFile) -> bytes:
        return self.inner.read(file)

    def acknowledge(self, file: RemoteFile) -> None:
        """Acknowledge the file, then its marker, so the drop folder is left clean."""
        self.inner.acknowledge(file)
        if self.rule.marker:
            marker = RemoteFile(
                file.name + self.rule.marker, 0, 0.0, file.remote_path + self.rule.marker
            )
            self.inner.acknowledge(marker)

    def close(self) -> None:
        self.inner.close()
