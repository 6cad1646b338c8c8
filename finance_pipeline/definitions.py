"""Dagster wiring: the one place that gathers assets, checks, sensors and resources."""

from __future__ import annotations

import dagster as dg

from assets.canonical import CONTRACT_CHECKS, canonical_tables
from assets.close import close_pack
from assets.ingest import build_ingest_assets
from assets.policies import default_executor
from assets.quality_checks import QUALITY_CHECKS
from assets.recon import exceptions, journal_proposals, journals_balance, matching
from assets.resources import PipelineResource
from assets.warehouse import warehouse
from finance_pipeline.config import PipelineConfig
from sensors import build_sensors
from sensors.jobs import daily_reconciliation_job, month_end_close_job
from sensors.run_failure import run_failure_alerts
from sensors.schedules import build_schedules

RECON_ASSETS = [canonical_tables, matching, exceptions, journal_proposals, warehouse]
MONTHLY_ASSETS = [close_pack]


def daily_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    """The business-day graph: one ingest asset per configured source, then the shared steps."""
    return [*build_ingest_assets(config), *RECON_ASSETS]


def all_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    return [*daily_assets(config), *MONTHLY_ASSETS]


# `journals_balance` (recon) already blocks unbalanced proposals; the GX twin is left out.
ALL_CHECKS = [
    *CONTRACT_CHECKS,
    journals_balance,
    *(c for c in QUALITY_CHECKS if "journals_balanced" not in {k.name for k in c.check_keys}),
]


def build_definitions(pipeline: PipelineResource | None = None) -> dg.Definitions:
    """The code location, for the configuration Dagster is started with
    (``$FINANCE_PIPELINE_CONFIG``, see :func:`default_config_path`)."""
    pipeline = pipeline or PipelineResource()
    config = pipeline.load()
    return dg.Definitions(
        assets=all_assets(config),
        asset_checks=ALL_CHECKS,
        jobs=[daily_reconciliation_job, month_end_close_job],
        schedules=build_schedules(),
        sensors=[*build_sensors(config), run_failure_alerts],
        executor=default_executor(),
        resources={"pipeline": pipeline},
    )


defs = build_definitions()
