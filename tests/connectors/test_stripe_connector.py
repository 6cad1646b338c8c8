"""Stripe connector against a local HTTP server speaking Stripe's list wire format."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
from api_harness import ApiServer, Fault, StripeData, balance_transactions

from finance_pipeline.archive import RawArchive
from finance_pipeline.config import SourceConfig
from finance_pipeline.connectors import (
    Backoff,
    ConnectorError,
    CursorStore,
    HttpStatusError,
    StripeConnector,
    minor_units,
    open_connector,
    sync_api_source,
)

DAY = date(2026, 10, 26)
FAST = Backoff(attempts=4, base_delay=0.02, max_delay=0.1, max_retry_after=5)
ROOT = Path(__file__).resolve().parents[2]


class SimulatedCrash(Exception):
    pass


def connector(server: ApiServer, data: StripeData, home: Path, **kwargs) -> StripeConnector:
    return StripeConnector(
        source="stripe",
        api_key=data.api_key,
        archive=RawArchive(home / "archive"),
        store=CursorStore(home / "state" / "connectors"),
        base_url=server.url,
        page_size=kwargs.pop("page_size", 2),
        backoff=kwargs.pop("backoff", FAST),
        timeout=5,
        **kwargs,
    )


def archived_ids(archive: RawArchive) -> list[str]:
    ids = []
    for arrival in archive.arrivals():
        ids += [o["id"] for o in json.loads(archive.read(arrival.sha256))["data"]]
    return ids


def test_pages_through_a_list_and_archives_every_page(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    expected = balance_transactions(stripe_data, 7)
    stripe = connector(stripe_server, stripe_data, tmp_path)
    result = stripe.balance_transactions(run_id="r1", business_date=DAY)
    assert result.records == 7 and len(result.pages) == 4
    archive = RawArchive(tmp_path / "archive")
    assert archived_ids(archive) == expected
    calls = stripe_server.requests_to("/v1/balance_transactions")
    assert [c.query.get("starting_after") for c in calls] == [None, *expected[1:6:2]]
    assert all(c.query["limit"] == "2" for c in calls)
    first = archive.arrivals()[0]
    assert first.file_name == "balance_transactions_p00001_20261026.json"
    assert first.business_date == "2026-10-26" and first.source == "stripe"
    # Amounts stay integers in minor units.
    page = json.loads(archive.read(first.sha256))
    assert minor_units(page["data"][0]) == (-506, "USD")  # txn_0006, a refund


def test_payout_and_type_filters_are_sent_and_honoured(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    balance_transactions(stripe_data, 6, payout="po_A")
    balance_transactions(stripe_data, 0)
    stripe_data.add(
        "/v1/balance_transactions",
        id="txn_other",
        amount=99,
        currency="usd",
        type="charge",
        created=1_790_000_100,
        payout="po_B",
    )
    stripe = connector(stripe_server, stripe_data, tmp_path, page_size=10)
    result = stripe.balance_transactions(
        run_id="r1", business_date=DAY, payout="po_A", type="charge"
    )
    [call] = stripe_server.requests_to("/v1/balance_transactions")
    assert call.query == {"limit": "10", "payout": "po_A", "type": "charge"}
    assert result.records == 4  # n = 1, 2, 4, 5 are charges of po_A
    ids = archived_ids(RawArchive(tmp_path / "archive"))
    assert "txn_other" not in ids and all(i.startswith("txn_000") for i in ids)


def test_other_lists_and_incremental_watermark(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    for n in range(3):
        stripe_data.add(
            "/v1/payouts",
            id=f"po_{n}",
            amount=10_000 * (n + 1),
            currency="eur",
            arrival_date=1_790_100_000,
            status="paid",
            created=1_790_000_000 + n,
        )
        stripe_data.add(
            "/v1/charges", id=f"ch_{n}", amount=500, currency="usd", created=1_790_000_000 + n
        )
    stripe_data.add("/v1/refunds", id="re_0", amount=200, currency="usd", created=1_790_000_001)
    stripe = connector(stripe_server, stripe_data, tmp_path)
    assert stripe.payouts(run_id="r1", business_date=DAY).records == 3
    assert stripe.charges(run_id="r1", business_date=DAY).records == 3
    assert stripe.refunds(run_id="r1", business_date=DAY).records == 1
    # Next pass asks only from the watermark on (the boundary second is read again).
    stripe_data.add(
        "/v1/payouts", id="po_9", amount=1, currency="eur", status="paid", created=1_790_000_050
    )
    again = stripe.payouts(run_id="r2", business_date=DAY)
    last = stripe_server.requests_to("/v1/payouts")[-1]
    assert last.query["created[gte]"] == "1790000002"
    assert again.records == 2 and again.watermark == 1_790_000_050


def test_crash_mid_pagination_resumes_from_committed_cursor(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    expected = balance_transactions(stripe_data, 9)  # 5 pages of 2

    def crash_after_page_2(page: int, _arrival: object) -> None:
        if page == 2:
            raise SimulatedCrash

    with pytest.raises(SimulatedCrash):
        connector(stripe_server, stripe_data, tmp_path).balance_transactions(
            run_id="r1", business_date=DAY, after_commit=crash_after_page_2
        )
    # A new process: fresh objects, the same home.
    resumed = connector(stripe_server, stripe_data, tmp_path).balance_transactions(
        run_id="r2", business_date=DAY
    )
    assert resumed.resumed_at_page == 3
    calls = stripe_server.requests_to("/v1/balance_transactions")
    cursors = [c.query.get("starting_after") for c in calls]
    assert cursors == [None, expected[1], expected[3], expected[5], expected[7]]  # none twice
    archive = RawArchive(tmp_path / "archive")
    assert archived_ids(archive) == expected
    assert len(archive.arrivals()) == 5 and not any(a.is_duplicate for a in archive.arrivals())
    assert [a.run_id for a in archive.arrivals()] == ["r1", "r1", "r2", "r2", "r2"]
    # A completed pass leaves no cursor in progress.
    state = CursorStore(tmp_path / "state" / "connectors").load(
        "stripe/stripe/balance_transactions"
    )
    assert state["in_progress"] is None and state["watermark"] == 1_790_000_008


def test_crash_between_archive_and_commit_adds_no_duplicate_row(
    stripe_server: ApiServer,
    stripe_data: StripeData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = balance_transactions(stripe_data, 5)
    real_commit = CursorStore.commit
    commits = []

    def commit_then_die_on_second(self: CursorStore, key: str, state: dict) -> None:
        commits.append(key)
        if len(commits) == 2:
            raise SimulatedCrash  # page 2 archived, its cursor never committed
        real_commit(self, key, state)

    monkeypatch.setattr(CursorStore, "commit", commit_then_die_on_second)
    with pytest.raises(SimulatedCrash):
        connector(stripe_server, stripe_data, tmp_path).balance_transactions(
            run_id="r1", business_date=DAY
        )
    monkeypatch.setattr(CursorStore, "commit", real_commit)
    connector(stripe_server, stripe_data, tmp_path).balance_transactions(
        run_id="r2", business_date=DAY
    )
    archive = RawArchive(tmp_path / "archive")
    assert archived_ids(archive) == expected  # page 2 fetched twice, stored once
    assert len(archive.arrivals()) == 3


def test_killed_process_resumes_without_duplicate_pages(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    expected = balance_transactions(stripe_data, 8)  # 4 pages of 2
    stripe_server.delays[expected[3]] = 30.0  # page 3 hangs: the process is killed there
    script = textwrap.dedent(
        f"""
        from datetime import date
        from pathlib import Path
        from finance_pipeline.archive import RawArchive
        from finance_pipeline.connectors import CursorStore, StripeConnector
        home = Path({str(tmp_path)!r})
        StripeConnector(
            source="stripe", api_key={stripe_data.api_key!r}, base_url={stripe_server.url!r},
            archive=RawArchive(home / "archive"), store=CursorStore(home / "state" / "connectors"),
            page_size=2, timeout=60,
        ).balance_transactions(run_id="killed", business_date=date(2026, 10, 26))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 8
        while len(stripe_server.arrived) < 3:
            assert time.monotonic() < deadline, "the child never reached page 3"
            assert proc.poll() is None, "the child exited early"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=5)
    stripe_server.delays.clear()
    result = connector(stripe_server, stripe_data, tmp_path).balance_transactions(
        run_id="resumed", business_date=DAY
    )
    assert result.resumed_at_page == 3
    archive = RawArchive(tmp_path / "archive")
    assert archived_ids(archive) == expected
    assert [a.run_id for a in archive.arrivals()] == ["killed", "killed", "resumed", "resumed"]


def test_429_retry_after_is_honoured(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    balance_transactions(stripe_data, 3)
    stripe_server.faults.append(Fault(429, times=1, retry_after="1", after_requests=1))
    stripe = connector(stripe_server, stripe_data, tmp_path)
    started = time.monotonic()
    result = stripe.balance_transactions(run_id="r1", business_date=DAY)
    elapsed = time.monotonic() - started
    assert result.records == 3
    assert stripe.core.waits and 1.0 <= stripe.core.waits[0] <= 1.2
    assert elapsed >= 1.0
    statuses = [c.status for c in stripe_server.log]
    assert statuses == [200, 429, 200]


def test_5xx_backs_off_with_jitter_and_recovers(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    balance_transactions(stripe_data, 2)
    stripe_server.faults += [Fault(500, times=1), Fault(503, times=1)]
    stripe = connector(stripe_server, stripe_data, tmp_path)
    assert stripe.balance_transactions(run_id="r1", business_date=DAY).records == 2
    assert len(stripe.core.waits) == 2
    assert 0.01 <= stripe.core.waits[0] <= 0.02 and 0.02 <= stripe.core.waits[1] <= 0.04


def test_retries_are_bounded(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    balance_transactions(stripe_data, 2)
    stripe_server.faults.append(Fault(502, times=100))
    stripe = connector(stripe_server, stripe_data, tmp_path)
    with pytest.raises(ConnectorError, match="failed after 4 attempts: HTTP 502"):
        stripe.balance_transactions(run_id="r1", business_date=DAY)
    assert len(stripe_server.log) == 4
    stripe_server.faults[:] = [Fault(429, retry_after="3600")]
    with pytest.raises(HttpStatusError, match="wait 3600s"):
        stripe.payouts(run_id="r1", business_date=DAY)


def test_bad_key_is_a_permanent_error_that_never_shows_the_key(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    source = SourceConfig(
        "stripe",
        "api",
        "stripe_json",
        {"type": "http", "connector": "stripe", "base_url": stripe_server.url},
    )
    with pytest.raises(ConnectorError, match=r"\$STRIPE_API_KEY is not set"):
        open_connector(source, tmp_path, environ={})
    stripe = open_connector(source, tmp_path, environ={"STRIPE_API_KEY": "sk_test_wrong_999"})
    with pytest.raises(HttpStatusError) as caught:
        stripe.sync_all(run_id="r1", business_date=DAY)
    assert caught.value.status == 401 and "Invalid API Key" in str(caught.value)
    assert "sk_test_wrong_999" not in str(caught.value)
    assert len(stripe_server.log) == 1  # not retried


def test_non_integer_amount_is_refused(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    stripe_data.add("/v1/charges", id="ch_f", amount=10.5, currency="usd", created=1)
    with pytest.raises(ConnectorError, match="not minor units"):
        connector(stripe_server, stripe_data, tmp_path).charges(run_id="r1", business_date=DAY)


def test_sync_api_source_from_config_and_probe(
    stripe_server: ApiServer, stripe_data: StripeData, tmp_path: Path
) -> None:
    balance_transactions(stripe_data, 3)
    source = SourceConfig(
        "stripe",
        "api",
        "stripe_json",
        {
            "type": "http",
            "connector": "stripe",
            "base_url": stripe_server.url,
            "api_key_env": "FP_STRIPE_KEY",
            "resources": ["balance_transactions", "payouts"],
            "page_size": 2,
        },
    )
    env = {"FP_STRIPE_KEY": stripe_data.api_key}
    arrivals = sync_api_source(source, tmp_path, DAY, "r1", environ=env)
    assert [a.file_name for a in arrivals] == [
        "balance_transactions_p00001_20261026.json",
        "balance_transactions_p00002_20261026.json",
        "payouts_p00001_20261026.json",
    ]
    probe = open_connector(source, tmp_path, environ=env)
    before = probe.probe()
    assert probe.probe() == before
    stripe_data.add("/v1/payouts", id="po_new", amount=5, currency="usd", created=1_790_009_999)
    assert probe.probe() != before
