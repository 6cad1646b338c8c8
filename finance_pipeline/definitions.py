"""Dagster wiring: the one place that gathers assets, checks, sensors and resources."""

from __future__ import annotations

import dagster as dg

from assets.canonical import CONTRACT_CHECKS, canonical_tables
from assets.ingest import raw_files
from assets.recon import exceptions
from assets.resources import PipelineResource
from assets.warehouse import warehouse

ALL_ASSETS = [raw_files, canonical_tables, exceptions, warehouse]
ALL_CHECKS = [*CONTRACT_CHECKS]


def build_definitions(pipeline: PipelineResource | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        resources={"pipeline": pipeline or PipelineResource()},
    )


defs = build_definitions()
