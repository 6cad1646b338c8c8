"""Run-failure sensor: record every failed run and send the configured alerts once.

Each failure is appended to ``<home>/alerts/run_failures.jsonl`` (run id, job, partition,
step errors, and how each alert channel fared), so a failure is on disk even when every
channel is down. A run already in that file is not alerted again, which keeps alerts to one
per run when Dagster re-evaluates a tick (for example after a daemon restart).
"""

from datetime import UTC, datetime

import dagster as dg

from assets.resources import PipelineResource
from finance_pipeline.alerts import (
    AlertConfigError,
    Delivery,
    RunFailureAlert,
    StepError,
    already_recorded,
    channels_from_settings,
    dispatch,
    failure_log_path,
    record_failure,
)
from finance_pipeline.config import ConfigError

MESSAGE_LIMIT = 1000


def _root_error(error: object) -> tuple[str | None, str]:
    """The innermost cause: Dagster wraps the user's exception in a step execution error."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    cls_name = getattr(error, "cls_name", None)
    message = str(getattr(error, "message", "") or "").strip()
    return cls_name, message[:MESSAGE_LIMIT]


def step_errors(context: dg.RunFailureSensorContext) -> tuple[StepError, ...]:
    errors = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        cls_name, message = _root_error(data.error) if data.error else (None, event.message or "")
        errors.append(StepError(event.step_key or "?", cls_name, message))
    return tuple(errors)


def alert_for(context: dg.RunFailureSensorContext) -> RunFailureAlert:
    run = context.dagster_run
    record = context.instance.get_run_record_by_id(run.run_id)
    ended = record.end_time if record is not None and record.end_time else None
    when = datetime.fromtimestamp(ended, UTC) if ended else datetime.now(UTC)
    tags = {k: v for k, v in run.tags.items() if not k.startswith(".dagster")}
    return RunFailureAlert(
        run_id=run.run_id,
        job=run.job_name,
        partition=run.tags.get("dagster/partition"),
        message=(context.failure_event.message or "run failed")[:MESSAGE_LIMIT],
        occurred_at=when.isoformat(),
        step_errors=step_errors(context),
        tags=tags,
    )


@dg.run_failure_sensor(
    name="run_failure_alerts",
    description="Records each failed run under <home>/alerts and sends the configured alerts.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, pipeline: PipelineResource) -> None:
    home = pipeline.home_dir()
    path = failure_log_path(home.root)
    run_id = context.dagster_run.run_id
    if already_recorded(path, run_id):
        context.log.info(f"run {run_id} already alerted; skipping")
        return
    alert = alert_for(context)
    problems: list[Delivery] = []
    try:
        channels = channels_from_settings(pipeline.load().settings)
    except (AlertConfigError, ConfigError) as exc:
        problems.append(Delivery("config", False, 0, str(exc)))
        channels = [{"kind": "log"}]
    deliveries = [*problems, *dispatch(alert, channels)]
    record_failure(path, alert, deliveries)
    failed = [d.kind for d in deliveries if not d.ok]
    context.log.info(f"run {run_id} failure recorded; channels failed: {failed or 'none'}")
