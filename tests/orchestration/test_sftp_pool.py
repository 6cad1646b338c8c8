"""An SFTP host's pool really bounds concurrent steps, under the multiprocess executor.

Three sources live on one real OpenSSH server (tests/transports/ssh_harness.py). Each source
step takes at least ``look_interval`` seconds (a file is read only once two looks agree), so
steps that ran together would overlap in time. With the host's pool at 1 slot, the event log
shows the three steps one after the other, and at least one of them waiting for the slot.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableJob

from assets.policies import apply_pool_limits, sftp_pool
from tests.transports import ssh_harness

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 10, 26)
SOURCES = ("bank_a", "bank_b", "bank_c")
LOOK_INTERVAL = 1.5
KEY_ENV = "FP_POOL_SFTP_KEY"


def ingest_job() -> dg.JobDefinition:
    """The source steps alone, built in each step process from $FINANCE_PIPELINE_CONFIG."""
    from assets.ingest import build_ingest_assets
    from assets.resources import PipelineResource

    pipeline = PipelineResource()
    defs = dg.Definitions(
        assets=build_ingest_assets(pipeline.load()),
        jobs=[
            dg.define_asset_job("ingest_probe", selection=dg.AssetSelection.key_prefixes("sources"))
        ],
        executor=dg.multiprocess_executor,
        resources={"pipeline": pipeline},
    )
    return defs.resolve_job_def("ingest_probe")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    try:
        server = ssh_harness.start_server(tmp_path_factory.mktemp("pool_sshd"))
    except ImportError:
        pytest.skip("no SSH server: /usr/sbin/sshd is missing and asyncssh is not installed")
    yield server
    server.stop()


def _config(tmp_path: Path, server) -> Path:
    known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
    calendar = yaml.safe_load((ROOT / "finance_pipeline.yaml").read_text())["calendar"]
    sources = []
    for name in SOURCES:
        drop = server.root / f"{tmp_path.name}_{name}"
        drop.mkdir()
        (drop / f"stmt_{DAY:%Y%m%d}.bai").write_bytes(f"statement of {name}\n".encode())
        sources.append(
            {
                "name": name,
                "kind": "bank_statement",
                "format": "bai2",
                "pattern": "*.bai",
                "step_retry": {"max_retries": 0},
                "transport": {
                    "type": "sftp",
                    "host": server.host,
                    "port": server.port,
                    "username": server.username,
                    "known_hosts": str(known_hosts),
                    "key_env": KEY_ENV,
                    "remote_dir": str(drop),
                    "ready": {"settle_seconds": 0, "look_interval": LOOK_INTERVAL},
                },
            }
        )
    config = tmp_path / "finance_pipeline.yaml"
    config.write_text(yaml.safe_dump({"calendar": calendar, "sources": sources}))
    return config


def test_one_slot_per_host_runs_the_host_steps_one_at_a_time(
    sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, sshd)
    monkeypatch.setenv(KEY_ENV, sshd.client_key.private_openssh)
    monkeypatch.setenv("FINANCE_PIPELINE_CONFIG", str(config))
    monkeypatch.setenv("FINANCE_PIPELINE_HOME", str(tmp_path / "home"))
    pool = sftp_pool(sshd.host)
    overrides = {"concurrency": {"pools": {"granularity": "op", "default_limit": 1}}}
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster"), overrides=overrides) as instance:
        apply_pool_limits(instance, {pool: 1})
        result = dg.execute_job(
            # Step processes rebuild the job from this file (it is not an importable module).
            ReconstructableJob.for_file(__file__, ingest_job.__name__),
            instance=instance,
            tags={"dagster/partition": DAY.isoformat()},
        )
        events = instance.all_logs(result.run_id)
        assert result.success, [(e.step_key, e.message) for e in events][-15:]

    spans: dict[str, list[float]] = {}
    waited = []
    for event in events:
        step, kind = event.step_key, event.dagster_event_type
        if kind == dg.DagsterEventType.STEP_START:
            spans[step] = [event.timestamp]
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            spans[step].append(event.timestamp)
        elif event.message and pool in event.message and "block" in event.message.lower():
            waited.append(step)
    assert sorted(spans) == [f"sources__{name}" for name in SOURCES]
    ordered = sorted(spans.values())
    assert all(end - start >= LOOK_INTERVAL for start, end in ordered)
    for (_, end), (next_start, _) in zip(ordered, ordered[1:], strict=False):
        assert next_start >= end  # one step on the host at a time
    assert waited, "no step waited for the host's slot"
