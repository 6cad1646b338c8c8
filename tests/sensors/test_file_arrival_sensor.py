"""File-arrival sensors evaluated with dg.build_sensor_context, on a local folder and on SFTP."""

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import PipelineResource
from finance_pipeline.archive import RawArchive, sha256_hex
from finance_pipeline.config import (
    Home,
    PipelineConfig,
    SourceConfig,
    default_config_path,
    load_config,
)
from finance_pipeline.definitions import all_assets
from sensors import build_sensors, daily_reconciliation_job
from sensors.file_arrival import FileCursor, build_file_arrival_sensor, masked_file_name
from sensors.partitioning import partition_for
from tests.transports.ssh_harness import KeyPair

_INSTANCE: list[dg.DagsterInstance] = []


def instance() -> dg.DagsterInstance:
    """One ephemeral instance for all ticks (making one costs more than a tick)."""
    if not _INSTANCE:
        _INSTANCE.append(dg.DagsterInstance.ephemeral())
    return _INSTANCE[0]


_DEFS: dict[tuple[int, str], tuple[dg.Definitions, PipelineResource]] = {}


def tick(sensor: dg.SensorDefinition, home: Path, cursor: str | None):
    """One sensor evaluation, as the daemon would run it, against the project's real job and
    partitions (so an invalid partition key would fail here); (run requests, cursor, skip)."""
    key = (id(sensor), str(home))
    if key not in _DEFS:
        pipeline = PipelineResource(home=str(home))
        defs = dg.Definitions(
            assets=all_assets(load_config(default_config_path())),
            jobs=[daily_reconciliation_job],
            sensors=[sensor],
            resources={"pipeline": pipeline},
        )
        _DEFS[key] = (defs, pipeline)
    defs, pipeline = _DEFS[key]
    context = dg.build_sensor_context(
        cursor=cursor, resources={"pipeline": pipeline}, definitions=defs, instance=instance()
    )
    data = sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor, data.skip_message


def local_source(**transport) -> SourceConfig:
    return SourceConfig(
        name="fnb_us01_bai2",
        kind="bank_statement",
        format="bai2",
        transport={"type": "local", "path": "landing/bai2", **transport},
        pattern="*.bai",
        date_pattern=r"_(\d{8})\.",
    )


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing" / "bai2"
    folder.mkdir(parents=True)
    return folder


def test_local_file_yields_exactly_one_run_request_across_ticks(
    tmp_path: Path, landing: Path
) -> None:
    sensor = build_file_arrival_sensor(local_source())
    assert sensor.job_name == daily_reconciliation_job.name == "daily_reconciliation"
    requests, cursor, _ = tick(sensor, tmp_path, None)
    assert requests == []
    (landing / "FNB_US01_20261026.bai").write_bytes(b"01,first/\n")
    (landing / "ignored.txt").write_bytes(b"not matching the pattern")
    requests, cursor, _ = tick(sensor, tmp_path, cursor)
    [request] = requests
    assert request.partition_key == "2026-10-26"
    assert request.run_key.endswith(sha256_hex(b"01,first/\n"))
    assert request.tags["finance_pipeline/source"] == "fnb_us01_bai2"
    for _ in range(3):
        again, cursor, skip = tick(sensor, tmp_path, cursor)
        assert again == [] and "no new files" in skip
    # Touched but the same bytes: still no new run.
    later = time.time() + 5
    os.utime(landing / "FNB_US01_20261026.bai", (later, later))
    assert tick(sensor, tmp_path, cursor)[0] == []


def test_changed_bytes_yield_a_new_run_request(tmp_path: Path, landing: Path) -> None:
    sensor = build_file_arrival_sensor(local_source())
    target = landing / "FNB_US01_20261023.bai"
    target.write_bytes(b"01,v1/\n")
    [first], cursor, _ = tick(sensor, tmp_path, None)
    target.write_bytes(b"01,v2 corrected/\n")
    [second], cursor, _ = tick(sensor, tmp_path, cursor)
    assert second.run_key != first.run_key
    assert second.partition_key == first.partition_key == "2026-10-23"
    assert tick(sensor, tmp_path, cursor)[0] == []
    # The cursor remembers path, size, mtime and hash.
    [(path, (size, _mtime, sha))] = FileCursor.loads(cursor).files.items()
    assert path == "FNB_US01_20261023.bai" and size == len(b"01,v2 corrected/\n")
    assert sha == sha256_hex(b"01,v2 corrected/\n")


def test_weekend_date_undated_file_and_dates_without_partition(
    tmp_path: Path, landing: Path
) -> None:
    sensor = build_file_arrival_sensor(local_source())
    (landing / "FNB_US01_20261024.bai").write_bytes(b"saturday")  # -> Friday's partition
    (landing / "FNB_US01_20200101.bai").write_bytes(b"before the calendar starts")
    (landing / "FNB_US01_29991231.bai").write_bytes(b"far future")
    (landing / "no_date.bai").write_bytes(b"arrival date decides")
    requests, cursor, _ = tick(sensor, tmp_path, None)
    by_file = {r.tags["finance_pipeline/file"]: r.partition_key for r in requests}
    today = partition_for(datetime.now(UTC).date())[0]
    assert by_file == {"FNB_US01_20261024.bai": "2026-10-23", "no_date.bai": today}
    seen = FileCursor.loads(cursor).files
    assert "FNB_US01_20200101.bai" in seen  # never valid: remembered, not retried
    assert "FNB_US01_29991231.bai" not in seen  # not due yet: looked at again later


def test_missing_folder_skips_and_keeps_the_cursor(tmp_path: Path) -> None:
    sensor = build_file_arrival_sensor(local_source(path="landing/nowhere"))
    requests, cursor, skip = tick(sensor, tmp_path, '{"v": 1, "files": {}}')
    assert requests == [] and cursor == '{"v": 1, "files": {}}'
    assert "unavailable" in skip


def test_account_numbers_in_file_names_are_masked() -> None:
    source = local_source()
    masked = masked_file_name(source, "FNB_0532013000_20261026.bai")
    assert masked == "FNB_******3000_20261026.bai"


def test_ready_rule_applies_to_the_sensor(tmp_path: Path, landing: Path) -> None:
    source = local_source(ready={"marker": ".done"})
    sensor = build_file_arrival_sensor(source)
    (landing / "FNB_US01_20261026.bai").write_bytes(b"half")
    requests, cursor, _ = tick(sensor, tmp_path, None)
    assert requests == []
    (landing / "FNB_US01_20261026.bai.done").write_bytes(b"")
    [request], cursor, _ = tick(sensor, tmp_path, cursor)
    assert request.partition_key == "2026-10-26"


def sftp_source(server, drop: Path, known_hosts: Path, **ready) -> SourceConfig:
    return SourceConfig(
        name="lockbox_sftp",
        kind="lockbox",
        format="lockbox",
        transport={
            "type": "sftp",
            "host": server.host,
            "port": server.port,
            "username": server.username,
            "known_hosts": str(known_hosts),
            "key_env": "FP_SENSOR_SFTP_KEY",
            "remote_dir": str(drop),
            "ready": {"settle_seconds": 0, "look_interval": 0.05, **ready},
            "retries": 2,
            "backoff_seconds": 0.05,
        },
        pattern="LBX_*.txt",
        date_pattern=r"_(\d{8})\.",
    )


@pytest.fixture
def sftp_setup(sensor_ssh_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FP_SENSOR_SFTP_KEY", sensor_ssh_server.client_key.private_openssh)
    drop = sensor_ssh_server.root / tmp_path.name
    drop.mkdir()
    known_hosts = sensor_ssh_server.write_known_hosts(tmp_path / "known_hosts")
    return sensor_ssh_server, drop, known_hosts


def test_sftp_file_yields_one_run_request_and_a_new_one_for_new_bytes(
    sftp_setup, tmp_path: Path
) -> None:
    server, drop, known_hosts = sftp_setup
    sensor = build_file_arrival_sensor(sftp_source(server, drop, known_hosts))
    assert tick(sensor, tmp_path, None)[0] == []
    (drop / "LBX_20261026.txt").write_bytes(b"1" * 500)
    [request], cursor, _ = tick(sensor, tmp_path, None)
    assert request.partition_key == "2026-10-26"
    assert request.run_key == f"lockbox_sftp:{drop}/LBX_20261026.txt:500:{int(request_mtime(drop))}"
    for _ in range(2):
        assert tick(sensor, tmp_path, cursor)[0] == []
    (drop / "LBX_20261026.txt").write_bytes(b"2" * 640)
    [changed], cursor, _ = tick(sensor, tmp_path, cursor)
    assert changed.run_key != request.run_key
    assert tick(sensor, tmp_path, cursor)[0] == []


def request_mtime(drop: Path) -> float:
    return (drop / "LBX_20261026.txt").stat().st_mtime


def test_sftp_hash_comes_from_the_archive_once_archived(sftp_setup, tmp_path: Path) -> None:
    server, drop, known_hosts = sftp_setup
    payload = b"lockbox batch"
    (drop / "LBX_20261026.txt").write_bytes(payload)
    stat = (drop / "LBX_20261026.txt").stat()
    RawArchive(Home(tmp_path).archive).store(
        payload,
        source="lockbox_sftp",
        remote_path=f"{drop}/LBX_20261026.txt",
        file_name="LBX_20261026.txt",
        size=stat.st_size,
        mtime=stat.st_mtime,
        run_id="earlier",
        business_date=None,
    )
    sensor = build_file_arrival_sensor(sftp_source(server, drop, known_hosts))
    [request], _cursor, _ = tick(sensor, tmp_path, None)
    assert request.run_key.endswith(sha256_hex(payload))


def test_sftp_file_still_being_written_is_not_requested(sftp_setup, tmp_path: Path) -> None:
    server, drop, known_hosts = sftp_setup
    sensor = build_file_arrival_sensor(sftp_source(server, drop, known_hosts, settle_seconds=60))
    (drop / "LBX_20261026.txt").write_bytes(b"partial")
    requests, cursor, _ = tick(sensor, tmp_path, None)
    assert requests == []
    quiet = time.time() - 120
    os.utime(drop / "LBX_20261026.txt", (quiet, quiet))
    assert len(tick(sensor, tmp_path, cursor)[0]) == 1


def test_sftp_wrong_host_key_fails_the_tick(sftp_setup, tmp_path: Path) -> None:
    server, drop, _ = sftp_setup
    impostor = KeyPair.generate()
    known_hosts = tmp_path / "bad_known_hosts"
    known_hosts.write_text(f"[{server.host}]:{server.port} {impostor.public_line}\n")
    sensor = build_file_arrival_sensor(sftp_source(server, drop, known_hosts))
    with pytest.raises(Exception, match="CHANGED"):
        tick(sensor, tmp_path, None)


def test_build_sensors_covers_every_source_kind(tmp_path: Path) -> None:
    config = PipelineConfig(
        path=None,
        sources=(
            local_source(),
            SourceConfig(
                "lbx",
                "lockbox",
                "lockbox",
                {"type": "sftp", "host": "127.0.0.1", "username": "u"},
            ),
            SourceConfig("stripe", "api", "stripe_json", {"type": "http", "connector": "stripe"}),
            SourceConfig("odd", "export", "csv", {"type": "s3"}),
        ),
    )
    sensors = build_sensors(config)
    assert [s.name for s in sensors] == [
        "fnb_us01_bai2_file_arrival",
        "lbx_file_arrival",
        "stripe_api_poll",
    ]
    assert {s.job_name for s in sensors} == {"daily_reconciliation"}
    assert sensors[2].minimum_interval_seconds == 900
    assert sensors[0].minimum_interval_seconds == 60
