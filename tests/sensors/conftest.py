"""Sensor test fixtures: the SSH and HTTP test servers from the transport and connector tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    """Import a sibling folder's helper module once, under its own unique name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ssh_harness = _load("ssh_harness", TESTS / "transports" / "ssh_harness.py")
api_harness = _load("api_harness", TESTS / "connectors" / "api_harness.py")


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
