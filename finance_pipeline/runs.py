"""Running the asset graph for business dates through Dagster (same assets as the UI).

The CLI's ``run`` and ``demo`` call this: a persistent SQLite instance under ``<home>/dagster``
so the runs show up in ``dagster dev`` afterwards, exactly as scheduled runs would.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from finance_pipeline.config import Home

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunOutcome:
    business_date: date
    run_id: str
    success: bool


def instance_for(home: Home):  # -> dg.DagsterInstance (imported lazily: the core stays light)
    import dagster as dg

    home.ensure()
    target = home.dagster / "dagster.yaml"
    if not target.exists() and (REPO_ROOT / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", target)
    return dg.DagsterInstance.from_config(str(home.dagster))


def _materialize(home: Home, config_path: Path, assets: list, partition: str):
    import dagster as dg

    from assets.policies import apply_pool_limits, pool_limits, sftp_hosts_of
    from assets.resources import PipelineResource

    pipeline = PipelineResource(home=str(home.root), config_path=str(config_path))
    with instance_for(home) as instance:
        apply_pool_limits(instance, pool_limits(sftp_hosts_of(pipeline.load().sources)))
        return dg.materialize(
            assets,
            partition_key=partition,
            instance=instance,
            resources={"pipeline": pipeline},
            raise_on_error=False,
            tags={"finance_pipeline/trigger": "cli"},
        )


def run_close(home: Home, config_path: Path, months: list[date]) -> list[RunOutcome]:
    """Materialize the month-end close pack for each fiscal month (its first day)."""
    from finance_pipeline.definitions import MONTHLY_ASSETS

    outcomes = []
    for month in sorted(set(months)):
        result = _materialize(home, config_path, [*MONTHLY_ASSETS], month.isoformat())
        outcomes.append(RunOutcome(month, result.run_id, result.success))
    return outcomes


def run_dates(home: Home, config_path: Path, dates: list[date]) -> list[RunOutcome]:
    """Materialize every asset (and its checks) for each business date, in date order."""
    from finance_pipeline.config import load_config
    from finance_pipeline.definitions import ALL_CHECKS, daily_assets

    assets = [*daily_assets(load_config(config_path)), *ALL_CHECKS]
    outcomes = []
    for day in sorted(dates):
        result = _materialize(home, config_path, assets, day.isoformat())
        outcomes.append(RunOutcome(day, result.run_id, result.success))
    return outcomes
