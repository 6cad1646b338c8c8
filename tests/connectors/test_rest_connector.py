"""The generic REST connector: cursor, offset and Link-header pagination over real HTTP."""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_harness import ApiServer, Fault, Reply, dumps

from finance_pipeline.archive import RawArchive
from finance_pipeline.config import SourceConfig
from finance_pipeline.connectors import (
    ConnectorError,
    CursorStore,
    RestConnector,
    open_connector,
)
from finance_pipeline.connectors.http import parse_retry_after

DAY = date(2026, 10, 26)
TOKEN = "tok_rest_8812"
ITEMS = [
    {"id": f"inv_{n}", "total": f"{100 + n}.25", "updated_at": f"2026-10-2{n}T10:00:00Z"}
    for n in range(7)
]
FAST_RETRY = {"attempts": 3, "base_seconds": 0.02, "max_seconds": 0.05}


def rest_route(port_holder: list[int]):
    def route(path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("x-api-key") != TOKEN:
            return 401, {}, dumps({"message": "bad token"})
        items = [i for i in ITEMS if i["updated_at"] >= query.get("updated_since", "")]
        limit = int(query.get("limit", "3"))
        if path == "/api/cursor":
            start = int(query.get("cursor", "0"))
            nxt = start + limit if start + limit < len(items) else None
            body = {"data": {"items": items[start : start + limit]}, "meta": {"next_cursor": nxt}}
            return 200, {}, dumps(body)
        if path == "/api/offset":
            start = int(query.get("offset", "0"))
            return 200, {}, dumps({"results": items[start : start + limit]})
        if path == "/api/link":
            page = int(query.get("page", "1"))
            chunk = items[(page - 1) * limit : page * limit]
            extra = {}
            if page * limit < len(items):
                url = f"http://127.0.0.1:{port_holder[0]}/api/link?page={page + 1}&limit={limit}"
                extra["Link"] = f'<{url}>; rel="next"'
            return 200, extra, dumps(chunk)
        if path == "/api/stuck":
            return 200, {}, dumps({"items": [{"id": 1}], "next": "same"})
        if path == "/api/evil":
            return 200, {"Link": '<http://127.0.0.2:9/steal?page=2>; rel="next"'}, dumps([{}])
        return 404, {}, dumps({"message": "no route"})

    return route


@pytest.fixture
def rest_server() -> Iterator[ApiServer]:
    port: list[int] = []
    server = ApiServer(rest_route(port))
    port.append(server.port)
    yield server
    server.close()


def spec(server: ApiServer, path: str, **extra) -> dict:
    return {
        "type": "http",
        "connector": "rest",
        "base_url": server.url,
        "path": path,
        "auth": {"header": "X-Api-Key", "env": "FP_REST_TOKEN", "prefix": ""},
        "retry": FAST_RETRY,
        **extra,
    }


def make(server: ApiServer, home: Path, path: str, **extra) -> RestConnector:
    return RestConnector(
        source="erp",
        spec=spec(server, path, **extra),
        archive=RawArchive(home / "archive"),
        store=CursorStore(home / "state"),
        environ={"FP_REST_TOKEN": TOKEN},
    )


def archived_records(home: Path, record_path: str | None) -> list[dict]:
    archive = RawArchive(home / "archive")
    found = []
    for arrival in archive.arrivals():
        body = json.loads(archive.read(arrival.sha256))
        for part in (record_path or "").split("."):
            body = body[part] if part else body
        found += body
    return found


@pytest.mark.parametrize(
    ("path", "pagination", "record_path"),
    [
        (
            "/api/cursor",
            {"type": "cursor", "param": "cursor", "next_path": "meta.next_cursor"},
            "data.items",
        ),
        ("/api/offset", {"type": "offset", "limit_param": "limit", "page_size": 3}, "results"),
        ("/api/link", {"type": "link", "limit_param": "limit", "page_size": 3}, None),
    ],
)
def test_pagination_styles(
    rest_server: ApiServer, tmp_path: Path, path: str, pagination: dict, record_path: str | None
) -> None:
    connector = make(rest_server, tmp_path, path, pagination=pagination, record_path=record_path)
    result = connector.sync(run_id="r1", business_date=DAY)
    assert result.records == 7
    assert archived_records(tmp_path, record_path) == ITEMS
    assert len(rest_server.log) == 3  # 3 + 3 + 1: the short page ends an offset list


def test_incremental_watermark_and_resume_after_crash(
    rest_server: ApiServer, tmp_path: Path
) -> None:
    extra = {
        "pagination": {"type": "cursor", "param": "cursor", "next_path": "meta.next_cursor"},
        "record_path": "data.items",
        "watermark": {"field": "updated_at", "param": "updated_since"},
    }
    rest_server.faults.append(Fault(500, times=10, after_requests=1))
    with pytest.raises(ConnectorError, match="failed after 3 attempts"):
        make(rest_server, tmp_path, "/api/cursor", **extra).sync(run_id="r1", business_date=DAY)
    rest_server.faults.clear()
    result = make(rest_server, tmp_path, "/api/cursor", **extra).sync(
        run_id="r2", business_date=DAY
    )
    assert result.resumed_at_page == 2
    assert archived_records(tmp_path, "data.items") == ITEMS
    assert result.watermark == "2026-10-26T10:00:00Z"
    # The next pass asks only for what changed since the watermark.
    make(rest_server, tmp_path, "/api/cursor", **extra).sync(run_id="r3", business_date=DAY)
    assert rest_server.log[-1].query["updated_since"] == "2026-10-26T10:00:00Z"
    assert rest_server.log[-1].headers["x-api-key"] == TOKEN


def test_link_to_another_origin_is_refused(rest_server: ApiServer, tmp_path: Path) -> None:
    connector = make(rest_server, tmp_path, "/api/evil", pagination={"type": "link"})
    with pytest.raises(ConnectorError, match="not the configured API origin"):
        connector.sync(run_id="r1", business_date=DAY)
    assert all(entry.path == "/api/evil" for entry in rest_server.log)


def test_a_cursor_that_does_not_advance_stops_the_sync(
    rest_server: ApiServer, tmp_path: Path
) -> None:
    pagination = {"type": "cursor", "param": "cursor", "next_path": "next"}
    connector = make(
        rest_server, tmp_path, "/api/stuck", pagination=pagination, record_path="items"
    )
    with pytest.raises(ConnectorError, match="repeats a request"):
        connector.sync(run_id="r1", business_date=DAY)
    assert len(rest_server.log) == 2


def test_config_errors_name_the_variable_not_the_secret(
    rest_server: ApiServer, tmp_path: Path
) -> None:
    source = SourceConfig("erp", "export", "csv", spec(rest_server, "/api/cursor"))
    with pytest.raises(ConnectorError, match=r"\$FP_REST_TOKEN is not set"):
        open_connector(source, tmp_path, environ={})
    bad = SourceConfig(
        "erp", "export", "csv", spec(rest_server, "/api/cursor", pagination={"type": "pages"})
    )
    with pytest.raises(ConnectorError, match="pagination.type"):
        open_connector(bad, tmp_path, environ={"FP_REST_TOKEN": TOKEN})


def test_probe_changes_only_when_records_change(rest_server: ApiServer, tmp_path: Path) -> None:
    connector = make(
        rest_server,
        tmp_path,
        "/api/offset",
        pagination={"type": "offset", "limit_param": "limit", "page_size": 3},
        record_path="results",
    )
    first = connector.probe()
    assert connector.probe() == first
    ITEMS.insert(0, {"id": "inv_new", "total": "1.00", "updated_at": "2026-10-19T00:00:00Z"})
    try:
        assert connector.probe() != first
    finally:
        ITEMS.pop(0)


def test_retry_after_parsing() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Sun, 29 Nov 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 29 Nov 2026 09:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_is_capped_and_jittered() -> None:
    import random

    from finance_pipeline.connectors import Backoff

    backoff = Backoff(attempts=20, base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(1, 12)]
    assert all(d <= 4.0 for d in delays)
    assert delays[0] >= 0.25 and max(delays) >= 2.0
    assert len(set(round(d, 6) for d in delays[5:])) > 1  # jitter, not a fixed wait
    assert backoff.delay(1, rng, retry_after=2.0) >= 2.0
