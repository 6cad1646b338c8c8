"""A backfill of three business days gives the same tables as three single runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from assets.resources import PipelineResource
from finance_pipeline.config import Home
from finance_pipeline.generator import generate
from finance_pipeline.runs import instance_for, run_dates

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "finance_pipeline.yaml"
DAYS = [date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 28)]
# Columns that name the run which wrote a row, or when a file landed in the (separately
# generated) landing folder; everything else must be identical.
RUN_COLUMNS = {"run_id", "created_at", "arrived_at", "mtime"}


def _tables(home: Home) -> dict[str, pl.DataFrame]:
    out = {}
    for path in sorted(home.lake.rglob("data.parquet")):
        frame = pl.read_parquet(path, hive_partitioning=False)
        out[str(path.relative_to(home.lake))] = frame.drop(
            [c for c in frame.columns if c in RUN_COLUMNS]
        )
    return out


def test_backfill_equals_single_runs(tmp_path: Path) -> None:
    single = Home(tmp_path / "single").ensure()
    backfill = Home(tmp_path / "backfill").ensure()
    for home in (single, backfill):
        generate(home.root, start=DAYS[0], days=len(DAYS), seed=11)

    outcomes = run_dates(single, CONFIG, DAYS)
    assert all(o.success for o in outcomes)

    # The backfill: the daily job launched once per partition under one backfill id, the way
    # the UI's backfill does (state assets depend on their previous day, so days run in order).
    from finance_pipeline.definitions import build_definitions

    defs = build_definitions(PipelineResource(home=str(backfill.root), config_path=str(CONFIG)))
    job = defs.resolve_job_def("daily_reconciliation")
    with instance_for(backfill) as instance:
        for day in DAYS:
            result = job.execute_in_process(
                partition_key=day.isoformat(),
                instance=instance,
                tags={"dagster/backfill": "test-backfill"},
            )
            assert result.success
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": "test-backfill"}))
        assert len(runs) == len(DAYS)

    single_tables, backfill_tables = _tables(single), _tables(backfill)
    assert single_tables.keys() == backfill_tables.keys()
    assert any(key.startswith("exceptions/") for key in single_tables)
    for key, frame in single_tables.items():
        assert frame.equals(backfill_tables[key]), key
