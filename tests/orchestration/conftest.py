"""Fixtures for the orchestration tests: loopback HTTP and SMTP receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orch_harness import HttpReceiver, SmtpReceiver, serve_http, serve_smtp


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with serve_http() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with serve_smtp() as receiver:
        yield receiver
