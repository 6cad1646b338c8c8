"""The API-poll sensor against the local Stripe-format server."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import PipelineResource
from finance_pipeline.config import SourceConfig, default_config_path, load_config
from finance_pipeline.definitions import all_assets
from sensors import daily_reconciliation_job
from sensors.api_poll import build_api_poll_sensor, poll_decision
from sensors.partitioning import partition_for
from tests.connectors.api_harness import balance_transactions


def stripe_source(url: str) -> SourceConfig:
    return SourceConfig(
        "stripe",
        "api",
        "stripe_json",
        {
            "type": "http",
            "connector": "stripe",
            "base_url": url,
            "api_key_env": "FP_POLL_STRIPE_KEY",
            "resources": ["balance_transactions", "payouts"],
            "poll_seconds": 300,
            "retry": {"attempts": 2, "base_seconds": 0.02, "max_seconds": 0.05},
        },
    )


@pytest.fixture
def ticker(fake_stripe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data, server = fake_stripe
    monkeypatch.setenv("FP_POLL_STRIPE_KEY", data.api_key)
    sensor = build_api_poll_sensor(stripe_source(server.url))
    pipeline = PipelineResource(home=str(tmp_path))
    defs = dg.Definitions(
        assets=all_assets(load_config(default_config_path())),
        jobs=[daily_reconciliation_job],
        sensors=[sensor],
        resources={"pipeline": pipeline},
    )
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor: str | None):
        context = dg.build_sensor_context(
            cursor=cursor, resources={"pipeline": pipeline}, definitions=defs, instance=instance
        )
        result = sensor.evaluate_tick(context)
        return list(result.run_requests or []), result.cursor, result.skip_message

    return data, server, sensor, tick


def test_new_api_data_yields_one_run_request_per_change(ticker) -> None:
    data, server, sensor, tick = ticker
    assert sensor.minimum_interval_seconds == 300 and sensor.name == "stripe_api_poll"
    balance_transactions(data, 3)
    [request], cursor, _ = tick(None)
    assert request.partition_key == partition_for(datetime.now(UTC).date())[0]
    assert request.tags["finance_pipeline/trigger"] == "api_poll"
    for _ in range(2):
        again, cursor, skip = tick(cursor)
        assert again == [] and "nothing new" in skip
    data.add("/v1/payouts", id="po_9", amount=100, currency="usd", created=1_790_000_999)
    [second], cursor, _ = tick(cursor)
    assert second.run_key != request.run_key
    # The probe only asks for the newest object of each list, never pages through.
    assert all(entry.query == {"limit": "1"} for entry in server.log)


def test_unreachable_api_skips_and_keeps_the_cursor(ticker) -> None:
    data, server, _sensor, tick = ticker
    server.close()
    requests, cursor, skip = tick('{"token": "before"}')
    assert requests == [] and cursor == '{"token": "before"}'
    assert "unavailable" in skip


def test_poll_decision_is_pure() -> None:
    source = SourceConfig("rest", "export", "csv", {"type": "http"})
    when = datetime(2026, 10, 24, 9, tzinfo=UTC)  # a Saturday: Friday's partition
    first = poll_decision(source, "tok1", None, when)
    [request] = first.run_requests
    assert request.partition_key == "2026-10-23"
    assert poll_decision(source, "tok1", first.cursor, when).run_requests == []
    assert len(poll_decision(source, "tok2", first.cursor, when).run_requests) == 1
