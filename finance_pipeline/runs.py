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


def run_dates(home: Home, config_path: Path, dates: list[date]) -> list[RunOutcome]:
    """Materialize every asset (and its checks) for each business date, in date order."""
    import dagster as dg

    from assets.resources import PipelineResource
    from finance_pipeline.definitions import ALL_ASSETS, ALL_CHECKS

    pipeline = PipelineResource(home=str(home.root), config_path=str(config_path))
    outcomes = []
    with instance_for(home) as instance:
        for day in sorted(dates):
            result = dg.materialize(
                [*ALL_ASSETS, *ALL_CHECKS],
                partition_key=day.isoformat(),
                instance=instance,
                resources={"pipeline": pipeline},
                raise_on_error=False,
                tags={"finance_pipeline/trigger": "cli"},
            )
            outcomes.append(RunOutcome(day, result.run_id, result.success))
    return outcomes
