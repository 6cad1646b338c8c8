"""A partition run against a real PostgreSQL instance, configured by deploy/dagster.yaml.

A throwaway PostgreSQL cluster is started for the module (initdb in a temp folder, loopback
port, its own socket folder, password auth); the production instance file is used as-is with
its environment variables pointed at it; ``run_dates`` (the CLI's code path) materializes a
business date; the run, its materializations and check results are then read back with
psycopg2 straight from the database. Skips only when no PostgreSQL binaries are on this
machine (CI installs Debian's ``postgresql`` package, see .ci/run).
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from orch_harness import free_port

from assets.policies import (
    EXECUTOR_ENV,
    POOL_LIMITS,
    SOURCE_RETRY_POLICY,
    apply_pool_limits,
    default_executor,
    pool_limits,
    sftp_hosts_of,
    sftp_pool,
)
from finance_pipeline.config import Home, load_config
from finance_pipeline.runs import run_dates

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 10, 26)
PASSWORD = "throwaway-" + os.urandom(6).hex()
STARTUP_SECONDS = 30

CONFIG = """
sources:
  - name: erp
    kind: export
    format: csv
    transport: {type: local, path: landing/erp}
    pattern: "*.csv"
  - name: bank_sftp
    kind: bank_statement
    format: bai2
    transport: {type: sftp, host: sftp.Bank-One.example, username: u, known_hosts: k,
                remote_dir: /out, key_env: NOT_SET}
    pattern: "*.bai"
"""

INVOICES = (
    "source_system,source_id,invoice_id,entity_id,customer_id,invoice_number,order_id,"
    "issue_date,due_date,amount,open_amount,currency,tax_code,status\n"
    "netsuite,INV-1,inv-1,US01,C1,INV-1,,2026-10-01,2026-10-31,100.00,100.00,USD,,open\n"
    "netsuite,INV-3,inv-3,US01,C2,INV-3,,2026-10-02,2026-11-01,75.5,75.5,EUR,,open\n"
)


def _pg_bin() -> Path | None:
    override = os.environ.get("FP_TEST_PG_BIN")
    if override:
        return Path(override)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    db: str

    def connect(self):  # -> psycopg2 connection
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.db,
            connect_timeout=5,
        )


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, use ``postgres`` (made if missing)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return "postgres"


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _as_owner(argv: list[str], user: str | None) -> list[str]:
    if user is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    return ["su", user, "-s", "/bin/sh", "-c", shlex.join(argv)]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip("no PostgreSQL found (/usr/lib/postgresql/*/bin/initdb); .ci/run installs it")
    base = Path(tempfile.mkdtemp(prefix="fp-pg-"))  # not under pytest's root-only tmp folder
    data, sockets, log = base / "data", base / "sock", base / "postgres.log"
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    sockets.mkdir()
    user = _server_user()
    if user is not None:
        for path in (base, sockets, pwfile):
            shutil.chown(path, user, user if _has_group(user) else None)
    base.chmod(0o700)
    port = free_port()
    server = PgServer("127.0.0.1", port, "dagster", PASSWORD, "dagster")
    run = dict(check=True, capture_output=True, text=True, timeout=STARTUP_SECONDS)
    try:
        subprocess.run(
            _as_owner(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    server.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
                user,
            ),
            **run,
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_owner(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(STARTUP_SECONDS),
                    "start",
                ],
                user,
            ),
            **run,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise AssertionError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}") from exc
    try:
        import psycopg2

        admin = psycopg2.connect(
            host=server.host, port=port, user=server.user, password=PASSWORD, dbname="postgres"
        )
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE dagster")
        admin.close()
        yield server
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user),
            capture_output=True,
            timeout=STARTUP_SECONDS,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_home(
    pg_server: PgServer, home: Home, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Home, Path]]:
    """A pipeline home whose Dagster instance is the production file, pointed at the server."""
    for name, value in {
        "DAGSTER_PG_HOST": pg_server.host,
        "DAGSTER_PG_PORT": str(pg_server.port),
        "DAGSTER_PG_DB": pg_server.db,
        "DAGSTER_PG_USER": pg_server.user,
        "DAGSTER_PG_PASSWORD": pg_server.password,
    }.items():
        monkeypatch.setenv(name, value)
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home.dagster / "dagster.yaml")
    erp = home.root / "landing" / "erp"
    erp.mkdir(parents=True)
    (erp / "invoices_20261026.csv").write_text(INVOICES)
    config = home.root / "finance_pipeline.yaml"
    config.write_text(CONFIG)
    yield home, config


def test_partition_run_is_stored_in_postgres(pg_server: PgServer, pg_home) -> None:
    home, config = pg_home
    [outcome] = run_dates(home, config, [DAY])
    assert outcome.success
    assert not list(home.dagster.glob("**/*.db"))  # nothing went to SQLite

    with pg_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT status, pipeline_name FROM runs WHERE run_id = %s", (outcome.run_id,))
        assert cur.fetchone() == ("SUCCESS", "__ephemeral_asset_job__")
        cur.execute("SELECT key, value FROM run_tags WHERE run_id = %s", (outcome.run_id,))
        tags = dict(cur.fetchall())
        assert tags["dagster/partition"] == DAY.isoformat()
        assert tags["finance_pipeline/trigger"] == "cli"

        cur.execute(
            "SELECT asset_key, count(*) FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key",
            (outcome.run_id,),
        )
        materialized = {json.loads(key)[0]: n for key, n in cur.fetchall()}  # ["invoices"]
        assert {"raw_files", "invoices", "exceptions", "warehouse"} <= set(materialized)
        assert all(n == 1 for n in materialized.values())

        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND partition = %s",
            (outcome.run_id, DAY.isoformat()),
        )
        assert cur.fetchone()[0] >= len(materialized)

        cur.execute(
            "SELECT check_name, execution_status FROM asset_check_executions "
            "WHERE run_id = %s AND asset_key = %s",
            (outcome.run_id, dg.AssetKey("invoices").to_string()),
        )
        assert ("contract", "SUCCEEDED") in cur.fetchall()

    # The same instance read back through Dagster's own API.
    with dg.DagsterInstance.from_config(str(home.dagster)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        event = instance.get_latest_materialization_event(dg.AssetKey("invoices"))
        assert event is not None and event.run_id == outcome.run_id
        assert event.asset_materialization.metadata["rows"].value == 2


def test_pool_limits_are_stored_in_postgres(pg_server: PgServer, pg_home) -> None:
    home, config = pg_home
    hosts = sftp_hosts_of(load_config(config).sources)
    assert hosts == ["sftp.Bank-One.example"]
    limits = pool_limits(hosts)
    assert limits == {"duckdb_writer": 1, "sftp_sftp_bank_one_example": 2}
    with dg.DagsterInstance.from_config(str(home.dagster)) as instance:
        apply_pool_limits(instance, limits)
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").slot_count == 1
    with pg_server.connect() as conn, conn.cursor() as cur:
        cur.execute('SELECT concurrency_key, "limit" FROM concurrency_limits ORDER BY 1')
        assert dict(cur.fetchall()) == limits


def test_source_retry_policy_backs_off_exponentially_with_jitter() -> None:
    policy = SOURCE_RETRY_POLICY
    assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter == dg.Jitter.PLUS_MINUS
    assert policy.max_retries == 4
    base = policy.delay
    for attempt in range(1, policy.max_retries + 1):
        nominal = (2**attempt - 1) * base
        waits = [policy.calculate_delay(attempt) for _ in range(50)]
        assert all(nominal - base <= w <= nominal + base for w in waits)
        assert len({round(w, 6) for w in waits}) > 1  # jittered, not in lockstep
    assert sum((2**n - 1) * base + base for n in range(1, 5)) < 8 * 60
    assert POOL_LIMITS["duckdb_writer"] == 1 and sftp_pool("10.0.0.5") == "sftp_10_0_0_5"


def test_executor_is_chosen_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert default_executor() is None  # Dagster's own default
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    assert default_executor() is dg.multiprocess_executor
    monkeypatch.setenv(EXECUTOR_ENV, "celery")
    with pytest.raises(ValueError, match="expected multiprocess or k8s"):
        default_executor()
    monkeypatch.setenv(EXECUTOR_ENV, "k8s")
    try:
        import dagster_k8s  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs dagster-k8s"):
            default_executor()
    else:
        assert default_executor() is not None
