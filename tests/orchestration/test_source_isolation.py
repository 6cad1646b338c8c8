"""Each source is its own ingest step: retried alone, pooled by SFTP host, failing alone.

The demo's landing zone runs through the real graph on a persistent Dagster instance, with
Stripe served by a local HTTP server speaking Stripe's wire format (tests/connectors). When
Stripe answers 503 every time, its step is retried, then recorded as unavailable, and the
banks, the ERP and payroll still reconcile; when it fails once only, the retry picks it up.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.ingest import build_ingest_assets, source_key
from assets.policies import SOURCE_RETRY_POLICY, sftp_pool, source_pool, source_retry_policy
from finance_pipeline import lake
from finance_pipeline.config import ConfigError, Home, SourceConfig, load_config
from finance_pipeline.runs import instance_for, run_dates
from tests.connectors import api_harness

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 10, 27)  # the demo day with a payroll file
API_KEY_ENV = "FP_TEST_STRIPE_KEY"


@pytest.fixture
def stripe_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    data = api_harness.StripeData()
    noon = int(datetime(2026, 10, 27, 12, tzinfo=UTC).timestamp())
    data.add(
        "/v1/payouts",
        id="po_test_1",
        amount=123456,
        currency="usd",
        created=noon,
        arrival_date=noon + 86400,
        status="paid",
    )
    server = api_harness.ApiServer(data.route)
    monkeypatch.setenv(API_KEY_ENV, data.api_key)
    yield data, server
    server.close()


def _demo_home(home: Home, stripe_url: str) -> Path:
    """The demo landing zone and configuration, with Stripe pulled over HTTP."""
    shutil.copytree(ROOT / "fixtures" / "demo" / "landing", home.landing, dirs_exist_ok=True)
    raw = yaml.safe_load((ROOT / "finance_pipeline.yaml").read_text(encoding="utf-8"))
    for source in raw["sources"]:
        if source["name"] == "stripe":
            source["transport"] = {
                "type": "http",
                "connector": "stripe",
                "base_url": stripe_url,
                "api_key_env": API_KEY_ENV,
                "resources": ["payouts"],
                "retry": {"attempts": 1},  # one request per step: the step retries, not httpx
            }
            source["step_retry"] = {"max_retries": 1, "delay_seconds": 0}
    config = home.root / "finance_pipeline.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return config


def _materializations(home: Home, run_id: str) -> dict[str, dg.AssetMaterialization]:
    with instance_for(home) as instance:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        found = {}
        for record in records:
            event = record.event_log_entry.dagster_event
            assert event is not None
            found[event.asset_key.to_user_string()] = (
                event.step_materialization_data.materialization
            )
        return found


def _check(home: Home, source: str) -> dg.AssetCheckEvaluation | None:
    key = dg.AssetCheckKey(source_key(source), "available")
    with instance_for(home) as instance:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        return record.event.dagster_event.event_specific_data if record.event else None


def test_a_stripe_outage_does_not_block_payroll_or_the_banks(home: Home, stripe_api) -> None:
    _, server = stripe_api
    server.faults.append(api_harness.Fault(503, times=1000))
    config = _demo_home(home, server.url)

    [outcome] = run_dates(home, config, [DAY])

    assert outcome.success
    assert len(server.requests_to("/v1/payouts")) == 2  # first attempt + one step retry
    materialized = _materializations(home, outcome.run_id)
    assert materialized["sources/stripe"].metadata["attempt"].value == 2
    assert "503" in materialized["sources/stripe"].metadata["error"].value
    evaluation = _check(home, "stripe")
    assert evaluation is not None and not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN

    # Payroll and the banks went on in the same run.
    payroll = lake.read_partition(home.lake, "payroll_entries", DAY)
    assert payroll is not None and payroll.height > 0
    matches = lake.read_partition(home.lake, "matches", DAY)
    assert matches is not None
    by_workflow = matches.group_by("workflow").len()
    counts = dict(zip(by_workflow["workflow"], by_workflow["len"], strict=True))
    assert counts.get("payroll_to_ledger", 0) > 0
    assert counts.get("bank_reconciliation", 0) > 0
    assert lake.read_partition(home.lake, "payouts", DAY).height == 0

    exceptions = lake.read_partition(home.lake, "exceptions", DAY)
    outage = exceptions.filter(exceptions["exception_type"] == "source_unavailable")
    assert outage["source_system"].to_list() == ["stripe"]
    assert outage["owner_role"].to_list() == ["integration"]


def test_a_transient_failure_is_picked_up_by_the_step_retry(home: Home, stripe_api) -> None:
    _, server = stripe_api
    server.faults.append(api_harness.Fault(503, times=1))
    config = _demo_home(home, server.url)

    [outcome] = run_dates(home, config, [DAY])

    assert outcome.success
    materialized = _materializations(home, outcome.run_id)
    assert materialized["sources/stripe"].metadata["attempt"].value == 2
    assert materialized["sources/stripe"].metadata["error"].value == ""
    payouts = lake.read_partition(home.lake, "payouts", DAY)
    assert payouts is not None and payouts["source_id"].to_list() == ["po_test_1"]
    errors = lake.read_partition(home.lake, "source_errors", DAY)
    assert errors is not None and errors.height == 0


def test_every_source_failing_fails_the_run(home: Home) -> None:
    config = home.root / "finance_pipeline.yaml"
    config.write_text(
        "sources:\n"
        "  - {name: gone, kind: export, format: csv, transport: {type: local, path: none},\n"
        "     step_retry: {max_retries: 1, delay_seconds: 0}}\n"
    )
    [outcome] = run_dates(home, config, [DAY])
    assert not outcome.success
    with instance_for(home) as instance:
        failures = instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
        messages = [
            r.event_log_entry.dagster_event.step_failure_data.error.message for r in failures
        ]
        retries = instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
        ).records
    assert any("no source could be read: ['gone']" in m for m in messages)
    assert len(retries) == 1  # the source step was retried once before it gave up


def test_sftp_sources_share_their_host_pool_and_get_its_limit(home: Home) -> None:
    config = home.root / "finance_pipeline.yaml"
    config.write_text(
        "sources:\n"
        "  - {name: bank_a, kind: bank_statement, format: bai2, step_retry: {max_retries: 0},\n"
        "     transport: {type: sftp, host: 127.0.0.1, port: 1, path: /out}}\n"
        "  - {name: bank_b, kind: bank_statement, format: camt, step_retry: {max_retries: 0},\n"
        "     transport: {type: sftp, host: 127.0.0.1, port: 1, path: /camt}}\n"
        "  - {name: erp, kind: export, format: csv, step_retry: {max_retries: 0},\n"
        "     transport: {type: local, path: erp}}\n"
    )
    assets = build_ingest_assets(load_config(config))
    pools = {a.key.to_user_string(): a.op.pool for a in assets}
    assert pools == {
        "sources/bank_a": "sftp_127_0_0_1",
        "sources/bank_b": "sftp_127_0_0_1",
        "sources/erp": None,
        "raw_files": None,
    }
    # A run applies the limits to the instance (two sessions per host, one DuckDB writer);
    # nothing listens on port 1, so the run itself fails fast, after the steps took slots.
    [outcome] = run_dates(home, config, [DAY])
    assert not outcome.success
    with instance_for(home) as instance:
        info = instance.event_log_storage.get_concurrency_info("sftp_127_0_0_1")
        assert info.slot_count == 2
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").slot_count == 1


def test_step_retry_is_configured_per_source() -> None:
    default = SourceConfig("a", "export", "csv", {"type": "local", "path": "x"})
    assert source_retry_policy(default) == SOURCE_RETRY_POLICY
    quick = SourceConfig(
        "b", "export", "csv", {"type": "local"}, options={"step_retry": {"max_retries": 2}}
    )
    assert source_retry_policy(quick).max_retries == 2
    assert source_retry_policy(quick).delay == SOURCE_RETRY_POLICY.delay
    wrong = SourceConfig("c", "export", "csv", {"type": "local"}, options={"step_retry": 3})
    with pytest.raises(ConfigError, match="'c': step_retry"):
        source_retry_policy(wrong)
    assert source_pool(default) is None
    sftp = SourceConfig("d", "bank_statement", "bai2", {"type": "sftp", "host": "10.0.0.5"})
    assert source_pool(sftp) == sftp_pool("10.0.0.5") == "sftp_10_0_0_5"


def test_a_late_file_reruns_its_own_source_and_the_day_downstream(home: Home) -> None:
    from assets.resources import PipelineResource
    from finance_pipeline.definitions import build_definitions

    day = date(2026, 10, 26)
    demo = ROOT / "fixtures" / "demo" / "landing"
    for folder, name in (("erp", "invoices_20261026.csv"), ("crm", "orders_20261026.csv")):
        (home.landing / folder).mkdir(parents=True)
        shutil.copy(demo / folder / name, home.landing / folder / name)
    calendar = yaml.safe_load((ROOT / "finance_pipeline.yaml").read_text())["calendar"]
    sources = [
        {"name": name, "kind": "export", "format": "csv", "pattern": "*.csv",
         "transport": {"type": "local", "path": f"landing/{name}"}}
        for name in ("erp", "crm")
    ]  # fmt: skip
    config = home.root / "finance_pipeline.yaml"
    config.write_text(yaml.safe_dump({"calendar": calendar, "sources": sources}))
    [first] = run_dates(home, config, [day])
    assert first.success
    crm_manifest = lake.partition_path(home.lake, "sources/crm/raw_files", day)
    crm_written = crm_manifest.stat().st_mtime_ns

    # The ERP re-sends the day's invoices with one late addition (new bytes, same name).
    late = (
        "netsuite,INV-LATE,INV-LATE,US01,C1,INV-LATE,,2026-10-26,2026-11-25,10.00,10.00,USD,,open"
    )
    invoices_file = home.landing / "erp" / "invoices_20261026.csv"
    invoices_file.write_text(invoices_file.read_text() + late + "\n")

    pipeline = PipelineResource(home=str(home.root), config_path=str(config))
    defs = build_definitions(pipeline)
    sensor = defs.resolve_sensor_def("erp_file_arrival")
    with instance_for(home) as instance:
        context = dg.build_sensor_context(
            resources={"pipeline": pipeline}, definitions=defs, instance=instance
        )
        requests = sensor.evaluate_tick(context).run_requests
        assert {r.partition_key for r in requests} == {day.isoformat()}
        selected = {k.to_user_string() for k in requests[0].asset_selection}
        assert {"sources/erp", "raw_files", "invoices", "exceptions", "warehouse"} <= selected
        assert "sources/crm" not in selected and "close_pack" not in selected
        checks = {(c.asset_key.to_user_string(), c.name) for c in requests[0].asset_check_keys}
        assert ("sources/erp", "available") in checks
        assert ("sources/crm", "available") not in checks

        job = defs.resolve_job_def("daily_reconciliation")
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            asset_selection=requests[0].asset_selection,
            instance=instance,
        )
        assert result.success
    assert crm_manifest.stat().st_mtime_ns == crm_written  # the CRM server was not asked again
    manifest = lake.read_partition(home.lake, "raw_files", day)
    assert sorted(manifest["source"].to_list()) == ["crm", "erp", "erp"]
    invoices = lake.read_partition(home.lake, "invoices", day)
    assert "INV-LATE" in invoices["invoice_id"].to_list()
