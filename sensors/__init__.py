"""Sensors: one file-arrival sensor per file source, one poll sensor per API source."""

import dagster as dg

from finance_pipeline.config import PipelineConfig
from sensors.api_poll import build_api_poll_sensor
from sensors.file_arrival import FILE_TRANSPORTS, build_file_arrival_sensor
from sensors.jobs import daily_reconciliation_job

__all__ = [
    "build_api_poll_sensor",
    "build_file_arrival_sensor",
    "build_sensors",
    "daily_reconciliation_job",
]


def build_sensors(
    config: PipelineConfig,
    *,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> list[dg.SensorDefinition]:
    """Every configured source's sensor, all targeting ``daily_reconciliation_job``."""
    sensors = []
    for source in config.sources:
        kind = source.transport.get("type")
        if kind in FILE_TRANSPORTS:
            sensors.append(build_file_arrival_sensor(source, default_status=default_status))
        elif kind == "http":
            sensors.append(build_api_poll_sensor(source, default_status=default_status))
    return sensors
