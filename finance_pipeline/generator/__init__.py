"""Seeded generator of a realistic multi-entity business and its landing zone.

``generate`` simulates three legal entities over a few business days and writes what their
banks, lockbox provider, Stripe, ERP, CRM, procurement and payroll systems would deliver,
in their real formats, plus the answer key under ``truth/``. The same (start, days, seed)
always produces byte-identical files, so demos, fixtures and tests can rely on them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from finance_pipeline.generator import (
    bai2_writer,
    camt_writer,
    exports,
    lockbox_writer,
    mt940_writer,
    stripe_writer,
    truth,
)
from finance_pipeline.generator.business import build_world, lockbox_item_id
from finance_pipeline.generator.model import World
from finance_pipeline.generator.noise import REQUIRED_NOISE_TYPES
from finance_pipeline.generator.read import read_export

__all__ = [
    "DEFAULT_START",
    "GenerationSummary",
    "REQUIRED_NOISE_TYPES",
    "file_kind",
    "generate",
    "lockbox_item_id",
    "read_export",
    "render",
]

DEFAULT_START = date(2026, 10, 26)


@dataclass
class GenerationSummary:
    """What a run wrote: files (relative, sorted), counts per file kind and per noise type."""

    out_dir: Path
    start: date
    business_days: list[date]
    seed: int
    files: list[str] = field(default_factory=list)
    file_counts: dict[str, int] = field(default_factory=dict)
    noise_counts: dict[str, int] = field(default_factory=dict)
    exception_counts: dict[str, int] = field(default_factory=dict)


def file_kind(relative: str) -> str:
    """``bai2``/``camt053``/``mt940`` for bank files, else the landing folder, or ``truth``."""
    parts = relative.split("/")
    if parts[0] == "truth":
        return "truth"
    if parts[1] == "banks":
        return parts[2]
    return parts[1]


def render(world: World) -> dict[str, str]:
    """Relative path -> text of every file of the landing zone and the truth."""
    files: dict[str, str] = {}
    for day in world.days:
        files[f"landing/banks/bai2/{bai2_writer.file_name(day)}"] = bai2_writer.render(world, day)
        files[f"landing/banks/camt053/{camt_writer.file_name(day)}"] = camt_writer.render(
            world, day
        )
        files[f"landing/banks/mt940/{mt940_writer.file_name(day)}"] = mt940_writer.render(
            world, day
        )
        lockbox = lockbox_writer.render(world, day)
        if lockbox is not None:
            files[f"landing/lockbox/{lockbox_writer.file_name(day)}"] = lockbox
        for name, text in stripe_writer.render_day(world, day).items():
            files[f"landing/stripe/{name}"] = text
        files.update(exports.render_day(world, day))
    files.update(truth.render(world))
    return files


def generate(
    out_dir: Path, *, start: date = DEFAULT_START, days: int = 5, seed: int = 7
) -> GenerationSummary:
    """Simulate ``days`` business days from ``start`` with ``seed`` and write them under
    ``out_dir`` (``landing/...`` and ``truth/...``). Existing files of the same names are
    replaced; nothing else in ``out_dir`` is touched."""
    world = build_world(start, days, seed)
    out_dir = Path(out_dir)
    files = render(world)
    for relative in sorted(files):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(files[relative].encode("utf-8"))
        temporary.replace(target)
    return GenerationSummary(
        out_dir=out_dir,
        start=start,
        business_days=list(world.days),
        seed=seed,
        files=sorted(files),
        file_counts=dict(sorted(Counter(file_kind(f) for f in files).items())),
        noise_counts=dict(sorted(Counter(n.noise_type for n in world.noise).items())),
        exception_counts=dict(
            sorted(Counter(e.exception_type for e in truth.expected_exceptions(world)).items())
        ),
    )
