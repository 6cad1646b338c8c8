"""Run-failure alerts: a failing run reaches a real loopback webhook and SMTP relay, once."""

import email
import json
from pathlib import Path

import dagster as dg
import httpx
import pytest
from orch_harness import HttpReceiver, SmtpReceiver, free_port

from assets.resources import PipelineResource
from finance_pipeline.alerts import (
    AlertConfigError,
    RunFailureAlert,
    StepError,
    channels_from_settings,
    dispatch,
    send_webhook,
)
from finance_pipeline.config import Home
from sensors.run_failure import run_failure_alerts

DAY = "2026-10-26"
TOKEN = "Bearer test-token-not-a-secret"


def _config(home: Home, webhook_url: str, smtp: SmtpReceiver | None = None) -> Path:
    smtp_block = (
        f"""
  - kind: email
    host: {smtp.host}
    port: {smtp.port}
    sender: dagster@finance.test
    to: [finance-ops@finance.test, treasury@finance.test]
    timeout_seconds: 5
"""
        if smtp
        else ""
    )
    text = f"""
sources:
  - name: erp
    kind: export
    format: csv
    transport: {{type: local, path: landing/erp}}
alerts:
  - kind: log
  - kind: webhook
    url: {webhook_url}
    auth_env: FINANCE_ALERT_TOKEN
    timeout_seconds: 2
    max_attempts: 3
    backoff_seconds: 0.01
{smtp_block}"""
    path = home.root / "finance_pipeline.yaml"
    path.write_text(text)
    return path


@dg.asset(partitions_def=dg.StaticPartitionsDefinition([DAY]))
def bank_download() -> None:
    """Stands in for an ingest asset whose source is down."""
    raise ConnectionError("sftp.bank.test:22 refused the connection")


def _failing_run(instance: dg.DagsterInstance) -> str:
    result = dg.materialize(
        [bank_download], instance=instance, partition_key=DAY, raise_on_error=False
    )
    assert not result.success
    return result.run_id


def _tick(instance, pipeline: PipelineResource, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"pipeline": pipeline}
    )
    data = run_failure_alerts.evaluate_tick(context)
    return context.cursor, data


def test_failed_run_posts_webhook_once_and_records_it(
    home: Home,
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINANCE_ALERT_TOKEN", TOKEN)
    config = _config(home, http_receiver.url, smtp_receiver)
    pipeline = PipelineResource(home=str(home.root), config_path=str(config))
    with dg.instance_for_test() as instance:
        cursor, _ = _tick(instance, pipeline, None)  # first tick only sets the cursor
        run_id = _failing_run(instance)
        cursor, _ = _tick(instance, pipeline, cursor)
        assert len(http_receiver.requests) == 1  # the daemon's path: a real sensor tick
        cursor, _ = _tick(instance, pipeline, cursor)  # nothing new: no second alert

        # The same failure handed to the sensor directly again (a re-evaluated tick).
        run = instance.get_run_by_id(run_id)
        [failure] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"pipeline": pipeline},
        ).for_run_failure()
        run_failure_alerts(context)

    assert len(http_receiver.requests) == 1
    request = http_receiver.requests[0]
    assert request["path"] == "/hooks/finance"
    assert request["headers"]["Authorization"] == TOKEN
    body = request["body"]
    assert body["event"] == "run_failure"
    assert body["run_id"] == run_id
    assert body["job"] == "__ephemeral_asset_job__"
    assert body["partition"] == DAY
    [step] = body["step_errors"]
    assert step["step_key"] == "bank_download"
    assert step["error_class"] == "ConnectionError"
    assert "refused the connection" in step["message"]

    [mail] = smtp_receiver.messages
    assert mail["to"] == ["<finance-ops@finance.test>", "<treasury@finance.test>"]
    parsed = email.message_from_bytes(mail["data"])
    assert parsed["Subject"] == f"[finance-pipeline] run failed: __ephemeral_asset_job__ [{DAY}]"
    parts = {p.get_content_type(): p for p in parsed.walk()}
    assert run_id in parts["text/plain"].get_payload(decode=True).decode()
    attached = json.loads(parts["application/json"].get_payload(decode=True))
    assert attached["step_errors"][0]["error_class"] == "ConnectionError"

    log = home.root / "alerts" / "run_failures.jsonl"
    [row] = [json.loads(line) for line in log.read_text().splitlines()]
    assert row["run_id"] == run_id and row["partition"] == DAY
    assert {d["kind"]: d["ok"] for d in row["deliveries"]} == {
        "log": True,
        "webhook": True,
        "email": True,
    }
    assert TOKEN not in log.read_text()  # the secret never lands on disk


ALERT = RunFailureAlert(
    run_id="r1",
    job="daily_reconciliation",
    partition=DAY,
    message="boom",
    occurred_at="2026-10-27T07:00:00+00:00",
    step_errors=(StepError("canonical_tables", "ValueError", "bad"),),
)


def test_webhook_retries_5xx_then_succeeds(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses = [503, 502]
    waits: list[float] = []
    delivery = send_webhook(
        ALERT, {"url": http_receiver.url, "backoff_seconds": 0.5}, sleep=waits.append
    )
    assert delivery.ok and delivery.attempts == 3
    assert waits == [0.5, 1.0]  # exponential, bounded by max_attempts
    assert len(http_receiver.requests) == 3


def test_webhook_does_not_retry_a_client_error(http_receiver: HttpReceiver) -> None:
    http_receiver.statuses = [401]
    delivery = send_webhook(ALERT, {"url": http_receiver.url}, sleep=lambda _: None)
    assert not delivery.ok and delivery.attempts == 1 and delivery.detail == "HTTP 401"


def test_unreachable_webhook_gives_up_after_bounded_attempts() -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    waits: list[float] = []
    delivery = send_webhook(ALERT, {"url": url, "max_attempts": 2}, sleep=waits.append)
    assert not delivery.ok and delivery.attempts == 2 and "ConnectError" in delivery.detail
    assert waits == [1.0]


def test_a_broken_channel_does_not_stop_the_others(
    http_receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MISSING_TOKEN", raising=False)
    channels = [
        {"kind": "webhook", "url": http_receiver.url, "auth_env": "MISSING_TOKEN"},
        {"kind": "webhook", "url": http_receiver.url},
    ]
    first, second = dispatch(ALERT, channels)
    assert not first.ok and "MISSING_TOKEN" in first.detail
    assert second.ok and len(http_receiver.requests) == 1


def test_channel_config_is_validated() -> None:
    assert channels_from_settings({}) == [{"kind": "log"}]
    with pytest.raises(AlertConfigError, match="webhook needs a url"):
        channels_from_settings({"alerts": [{"kind": "webhook"}]})
    with pytest.raises(AlertConfigError, match="needs kind"):
        channels_from_settings({"alerts": [{"kind": "pager"}]})
    with pytest.raises(AlertConfigError, match="needs host"):
        channels_from_settings({"alerts": [{"kind": "email", "sender": "a@b", "to": ["c@d"]}]})


def test_httpx_is_the_transport() -> None:
    """The webhook channel accepts an injected client (e.g. with a proxy or custom CA)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        delivery = send_webhook(ALERT, {"url": "http://alerts.invalid/x"}, client=client)
    assert delivery.ok and json.loads(seen[0].content)["run_id"] == "r1"
