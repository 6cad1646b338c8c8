"""API-poll sensors: one per configured HTTP API source, on an interval.

A tick only *probes* the API (the newest object per Stripe list, or a digest of the first page
past the watermark for a REST source) and requests a run for the current business day when
that changed. The run itself pulls the pages into the raw archive
(``finance_pipeline.connectors.sync_api_source``), so a tick stays cheap and a run is the one
place data enters, as for files.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from assets.resources import PipelineResource
from finance_pipeline.config import SourceConfig
from finance_pipeline.connectors import ConnectorError, open_connector
from sensors.file_arrival import SOURCE_TAG, TRIGGER_TAG, sensor_name
from sensors.jobs import daily_reconciliation_job
from sensors.partitioning import partition_for
from sensors.targeting import narrow_to_source

DEFAULT_POLL_SECONDS = 900


@dataclass
class Poll:
    run_requests: list[dg.RunRequest]
    cursor: str | None
    note: str


def poll_decision(
    source: SourceConfig, token: str, cursor: str | None, now: datetime | None = None
) -> Poll:
    """A run when the probe token differs from the last one that produced a run."""
    last = json.loads(cursor).get("token") if cursor else None
    if token == last:
        return Poll([], cursor, f"nothing new in {source.name}")
    moment = now or datetime.now(UTC)
    partition, why = partition_for(moment.date())
    if partition is None:
        return Poll([], cursor, f"{source.name}: no partition for {moment.date()} ({why})")
    digest = hashlib.sha256(token.encode()).hexdigest()[:20]
    request = dg.RunRequest(
        run_key=f"{source.name}:api:{digest}",
        partition_key=partition,
        tags={TRIGGER_TAG: "api_poll", SOURCE_TAG: source.name},
    )
    new_cursor = json.dumps({"token": token, "at": moment.isoformat(timespec="seconds")})
    return Poll([request], new_cursor, f"{source.name}: new data, run for {partition}")


def build_api_poll_sensor(
    source: SourceConfig,
    *,
    minimum_interval_seconds: int | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor that requests a daily run whenever an API source has something new."""
    if source.transport.get("type") != "http":
        raise ValueError(f"source {source.name!r} is not an http source")
    interval = int(
        minimum_interval_seconds or source.transport.get("poll_seconds", DEFAULT_POLL_SECONDS)
    )

    @dg.sensor(
        name=sensor_name(source, "api_poll"),
        job=daily_reconciliation_job,
        minimum_interval_seconds=interval,
        default_status=default_status,
        description=f"Polls the {source.name} API every {interval}s -> a daily run when new.",
    )
    def api_poll(
        context: dg.SensorEvaluationContext, pipeline: PipelineResource
    ) -> dg.SensorResult:
        try:
            connector = open_connector(source, pipeline.home_dir().root)
            try:
                token = connector.probe()
            finally:
                connector.close()
        except ConnectorError as exc:
            context.log.warning(f"{source.name}: API unavailable: {exc}")
            return dg.SensorResult(
                skip_reason=f"{source.name} unavailable: {exc}", cursor=context.cursor
            )
        poll = poll_decision(source, token, context.cursor)
        context.log.info(poll.note)
        if not poll.run_requests:
            return dg.SensorResult(skip_reason=poll.note, cursor=poll.cursor)
        requests = narrow_to_source(context, source.name, pipeline.home_dir(), poll.run_requests)
        return dg.SensorResult(run_requests=requests, cursor=poll.cursor)

    return api_poll
