"""Fixtures for transport tests: one real SSH/SFTP server per session, a fresh drop folder each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ssh_harness import SshServer, start_server

KEY_ENV = "FP_TEST_SFTP_KEY"


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    try:
        server = start_server(tmp_path_factory.mktemp("sshd"))
    except ImportError:
        pytest.skip("no SSH server: /usr/sbin/sshd is missing and asyncssh is not installed")
    yield server
    server.stop()


@pytest.fixture
def drop_dir(ssh_server: SshServer) -> Path:
    """A remote drop folder of its own for each test (absolute path on the server)."""
    folder = ssh_server.root / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


@pytest.fixture
def client_key_env(ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, ssh_server.client_key.private_openssh)
    return KEY_ENV


@pytest.fixture
def known_hosts(ssh_server: SshServer, tmp_path: Path) -> Path:
    return ssh_server.write_known_hosts(tmp_path / "known_hosts")
