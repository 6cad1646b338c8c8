"""Shared test helpers: paths to fixtures, and a pipeline home in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def home(tmp_path: Path):
    from finance_pipeline.config import Home

    return Home(tmp_path / "home").ensure()
