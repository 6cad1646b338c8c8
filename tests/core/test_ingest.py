"""One source at a time: what is retried, and what a failing source keeps."""

from __future__ import annotations

from datetime import date

import pytest

from finance_pipeline.config import Home, SourceConfig
from finance_pipeline.connectors.http import ConnectorError, HttpStatusError
from finance_pipeline.ingest import combine, ingest_one, is_transient
from finance_pipeline.transports.base import TransportError, UnsafeNameError
from finance_pipeline.transports.sftp import HostKeyError, SftpAuthError

DAY = date(2026, 10, 26)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransportError("connection refused"), True),
        (ConnectorError("GET failed after 6 attempts"), True),
        (HttpStatusError(503, "service unavailable"), True),
        (HttpStatusError(429, "too many requests"), True),
        (HttpStatusError(401, "invalid API key"), False),
        (HttpStatusError(404, "no such list"), False),
        (HostKeyError("host key differs from known_hosts"), False),
        (SftpAuthError("authentication failed"), False),
        (UnsafeNameError("../etc/passwd"), False),
        (ValueError("a bug, not a source error"), False),
    ],
)
def test_only_errors_a_retry_can_fix_are_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_source_that_fails_later_keeps_what_it_delivered_earlier(home: Home) -> None:
    drop = home.landing / "erp"
    drop.mkdir(parents=True)
    (drop / "invoices_20261026.csv").write_text("a,b\n1,2\n")
    source = SourceConfig(
        "erp", "export", "csv", {"type": "local", "path": "landing/erp"}, pattern="*.csv"
    )

    first = ingest_one(source, home.root, DAY, "run-1")
    assert first.source_errors == {} and len(first.arrivals) == 1

    drop.rename(home.landing / "unmounted")  # the drop folder disappears (mount down)
    second = ingest_one(source, home.root, DAY, "run-2")
    assert "folder does not exist" in second.source_errors["erp"]
    assert [a.arrival_id for a in second.arrivals] == [first.arrivals[0].arrival_id]

    merged = combine([first, second])
    assert len(merged.arrivals) == 2 and set(merged.source_errors) == {"erp"}
