"""The pipeline's configuration (``finance_pipeline.yaml``) and its home folder layout.

Sources, entities and calendars are plain YAML; secrets are never in the file, only the names
of the environment variables that hold them. Relative paths resolve against the home folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from finance_pipeline.storage import LakeLocation

SOURCE_KINDS = ("bank_statement", "lockbox", "export", "api")
FORMATS = ("bai2", "camt", "mt940", "lockbox", "stripe_json", "csv")
DEFAULT_CONFIG_NAME = "finance_pipeline.yaml"


class ConfigError(ValueError):
    """A configuration problem, naming the file and the key."""


@dataclass(frozen=True)
class Home:
    """Where a pipeline keeps its state: ``$FINANCE_PIPELINE_HOME`` or ``./var`` by default."""

    root: Path

    @classmethod
    def resolve(cls, home: str | Path | None = None) -> Home:
        chosen = home or os.environ.get("FINANCE_PIPELINE_HOME") or "var"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def lake_location(self) -> LakeLocation:
        """Where the lake really is: ``$FINANCE_PIPELINE_LAKE_URL`` when set, else :attr:`lake`."""
        from finance_pipeline.storage import LakeLocation

        return LakeLocation.from_env(self.lake)

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def ensure(self) -> Home:
        for folder in (self.root, self.dagster, self.lake, self.archive):
            folder.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: what it delivers, how to reach it, how to read it."""

    name: str
    kind: str
    format: str
    transport: dict[str, Any]
    pattern: str = "*"
    date_pattern: str = r"(\d{4}-?\d{2}-?\d{2})"
    options: dict[str, Any] = field(default_factory=dict)

    def business_date_of(self, file_name: str) -> date | None:
        """The business date a file belongs to, read from its name (None when absent)."""
        found = re.search(self.date_pattern, file_name)
        if not found:
            return None
        digits = found.group(1).replace("-", "")
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            return None


@dataclass(frozen=True)
class PipelineConfig:
    path: Path | None
    sources: tuple[SourceConfig, ...]
    timezone: str = "UTC"
    settings: dict[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        raise ConfigError(f"{self.path}: no source named {name!r}")


def load_config(path: str | Path) -> PipelineConfig:
    """Load and validate ``finance_pipeline.yaml``; errors name the file and the key."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: top level must be a mapping")
    sources_raw = raw.get("sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise ConfigError(f"{file}: 'sources' must be a non-empty list")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for idx, item in enumerate(sources_raw):
        where = f"{file}: sources[{idx}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a mapping")
        for key in ("name", "kind", "format", "transport"):
            if key not in item:
                raise ConfigError(f"{where}: missing key '{key}'")
        if item["kind"] not in SOURCE_KINDS:
            raise ConfigError(f"{where}.kind: {item['kind']!r} is not one of {SOURCE_KINDS}")
        if item["format"] not in FORMATS:
            raise ConfigError(f"{where}.format: {item['format']!r} is not one of {FORMATS}")
        if not isinstance(item["transport"], dict) or "type" not in item["transport"]:
            raise ConfigError(f"{where}.transport: must be a mapping with a 'type'")
        if item["name"] in seen:
            raise ConfigError(f"{where}.name: duplicate source name {item['name']!r}")
        seen.add(item["name"])
        known = {"name", "kind", "format", "transport", "pattern", "date_pattern"}
        sources.append(
            SourceConfig(
                name=item["name"],
                kind=item["kind"],
                format=item["format"],
                transport=dict(item["transport"]),
                pattern=item.get("pattern", "*"),
                date_pattern=item.get("date_pattern", SourceConfig.date_pattern),
                options={k: v for k, v in item.items() if k not in known},
            )
        )
    settings = {k: v for k, v in raw.items() if k != "sources"}
    return PipelineConfig(
        path=file.resolve(),
        sources=tuple(sources),
        timezone=raw.get("timezone", "UTC"),
        settings=settings,
    )


def default_config_path() -> Path:
    """``$FINANCE_PIPELINE_CONFIG``, else ``finance_pipeline.yaml`` in the working folder,
    else the demo configuration at the repository root."""
    env = os.environ.get("FINANCE_PIPELINE_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    if local.exists():
        return local
    return Path(__file__).resolve().parents[1] / DEFAULT_CONFIG_NAME
