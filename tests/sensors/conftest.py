"""Sensor test fixtures: the SSH and HTTP test servers from the transport and connector tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors import api_harness
from tests.transports import ssh_harness


@pytest.fixture(scope="session")
def sensor_ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    try:
        server = ssh_harness.start_server(tmp_path_factory.mktemp("sensor_sshd"))
    except ImportError:
        pytest.skip("no SSH server: /usr/sbin/sshd is missing and asyncssh is not installed")
    yield server
    server.stop()


@pytest.fixture
def fake_stripe() -> Iterator[tuple]:
    data = api_harness.StripeData()
    server = api_harness.ApiServer(data.route)
    yield data, server
    server.close()
