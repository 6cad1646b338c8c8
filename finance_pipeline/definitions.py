"""Dagster wiring: the one place that gathers assets, checks, sensors and resources."""

from __future__ import annotations

import dagster as dg

from assets.canonical import CONTRACT_CHECKS, canonical_tables
from assets.close import close_pack
from assets.ingest import raw_files
from assets.policies import default_executor
from assets.quality_checks import QUALITY_CHECKS
from assets.recon import exceptions, journal_proposals, journals_balance, matching
from assets.resources import PipelineResource
from assets.warehouse import warehouse
from finance_pipeline.config import default_config_path, load_config
from sensors import build_sensors
from sensors.jobs import daily_reconciliation_job, month_end_close_job
from sensors.run_failure import run_failure_alerts
from sensors.schedules import build_schedules

DAILY_ASSETS = [raw_files, canonical_tables, matching, exceptions, journal_proposals, warehouse]
MONTHLY_ASSETS = [close_pack]
ALL_ASSETS = [*DAILY_ASSETS, *MONTHLY_ASSETS]
# `journals_balance` (recon) already blocks unbalanced proposals; the GX twin is left out.
ALL_CHECKS = [
    *CONTRACT_CHECKS,
    journals_balance,
    *(c for c in QUALITY_CHECKS if "journals_balanced" not in {k.name for k in c.check_keys}),
]


def build_definitions(pipeline: PipelineResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[daily_reconciliation_job, month_end_close_job],
        schedules=build_schedules(),
        sensors=[*build_sensors(load_config(default_config_path())), run_failure_alerts],
        executor=default_executor(),
        resources={"pipeline": pipeline or PipelineResource()},
    )


defs = build_definitions()
