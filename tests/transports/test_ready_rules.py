"""Readiness rules as pure functions, and on a local folder."""

import os
import time
from pathlib import Path

import pytest

from finance_pipeline.config import SourceConfig
from finance_pipeline.transports import open_source
from finance_pipeline.transports.base import RemoteFile, TransportError
from finance_pipeline.transports.local import LocalFolderSource
from finance_pipeline.transports.settle import (
    SFTP_DEFAULT_RULE,
    ReadyRule,
    ReadySource,
    select_ready,
)

NOW = 1_800_000_000.0


def rf(name: str, size: int = 10, mtime: float = NOW - 600) -> RemoteFile:
    return RemoteFile(name, size, mtime, f"/drop/{name}")


def test_stability_needs_two_equal_looks_and_a_quiet_window() -> None:
    rule = ReadyRule(settle_seconds=60, look_interval=1)
    first = [rf("a.bai"), rf("b.bai", size=5), rf("c.bai", mtime=NOW - 10)]
    second = [rf("a.bai"), rf("b.bai", size=9), rf("c.bai", mtime=NOW - 10), rf("d.bai")]
    ready = select_ready(rule, first, second, "*.bai", NOW)
    # b grew, c is too fresh, d was not there at the first look.
    assert [f.name for f in ready] == ["a.bai"]


def test_marker_rule_takes_only_marked_files_and_never_markers() -> None:
    rule = ReadyRule(marker=".done")
    look = [rf("a.csv"), rf("a.csv.done"), rf("b.csv"), rf("orphan.csv.done")]
    assert [f.name for f in select_ready(rule, None, look, "*", NOW)] == ["a.csv"]


def test_part_rule_skips_part_files() -> None:
    rule = ReadyRule(part_suffix=".part")
    look = [rf("a.csv"), rf("b.csv.part")]
    assert [f.name for f in select_ready(rule, None, look, "*", NOW)] == ["a.csv"]


def test_config_block_validation_and_defaults() -> None:
    rule = ReadyRule.from_config({"settle_seconds": 5}, default=SFTP_DEFAULT_RULE)
    assert rule == ReadyRule(settle_seconds=5, look_interval=SFTP_DEFAULT_RULE.look_interval)
    assert ReadyRule.from_config(None, default=SFTP_DEFAULT_RULE) == SFTP_DEFAULT_RULE
    with pytest.raises(TransportError, match="suffix"):
        ReadyRule.from_config({"marker": "done/../x"})
    with pytest.raises(TransportError, match="unknown keys"):
        ReadyRule.from_config({"settle": 5})


def test_local_folder_with_ready_block_waits_for_quiet_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "fresh_20261026.csv").write_text("being written")
    quiet = landing / "quiet_20261023.csv"
    quiet.write_text("done")
    os.utime(quiet, (time.time() - 300, time.time() - 300))
    cfg = SourceConfig(
        "erp",
        "export",
        "csv",
        {
            "type": "local",
            "path": "landing",
            "ready": {"settle_seconds": 60, "look_interval": 0.05},
        },
    )
    source = open_source(cfg, tmp_path)
    assert isinstance(source, ReadySource)
    assert [f.name for f in source.list("*.csv")] == ["quiet_20261023.csv"]
    # Without a ready block a local folder behaves as before: everything is taken.
    plain = open_source(
        SourceConfig("erp", "export", "csv", {"type": "local", "path": "landing"}), tmp_path
    )
    assert isinstance(plain, LocalFolderSource)
    assert len(plain.list("*.csv")) == 2
