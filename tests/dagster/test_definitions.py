"""The code location loads the way `dagster dev` and deployments load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_from_repo_root(tmp_path: Path) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_every_canonical_table_is_an_asset_with_a_contract_check() -> None:
    from contracts.canonical import CANONICAL_MODELS
    from finance_pipeline.definitions import defs

    keys = {spec.key for spec in defs.resolve_all_asset_specs()}
    for table in CANONICAL_MODELS:
        assert dg.AssetKey(table) in keys
    check_keys = set(defs.resolve_asset_graph().asset_check_keys)
    for table in CANONICAL_MODELS:
        assert dg.AssetCheckKey(dg.AssetKey(table), "contract") in check_keys
