"""SftpSource against a real SSH server (OpenSSH sshd, or asyncssh when sshd is missing)."""

import base64
import io
import os
import time
from datetime import date
from pathlib import Path

import paramiko
import pytest
from ssh_harness import KeyPair, SshServer, TcpProxy, start_asyncssh

from finance_pipeline.archive import RawArchive, sha256_hex
from finance_pipeline.config import SourceConfig
from finance_pipeline.transports import open_source
from finance_pipeline.transports.base import (
    FileNotReadyError,
    RemoteFile,
    TransportError,
    UnsafeNameError,
)
from finance_pipeline.transports.settle import ReadyRule, ReadySource
from finance_pipeline.transports.sftp import (
    HostKeyError,
    PostDownload,
    Retry,
    SftpAuthError,
    SftpSource,
)

FAST_RETRY = Retry(attempts=4, base_delay=0.05, max_delay=0.2)


def make_source(
    server: SshServer,
    drop: Path,
    known_hosts: Path,
    *,
    port: int | None = None,
    key_env: str | None = "FP_TEST_SFTP_KEY",
    retry: Retry = FAST_RETRY,
    **kwargs,
) -> SftpSource:
    return SftpSource(
        host=server.host,
        port=port or server.port,
        username=server.username,
        known_hosts=known_hosts,
        remote_dir=str(drop),
        key_env=key_env,
        timeout=5.0,
        retry=retry,
        work_dir=kwargs.pop("work_dir", None) or known_hosts.parent / "work",
        **kwargs,
    )


def old(path: Path, seconds: float = 120) -> Path:
    """Backdate a file so it is past any settle window."""
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def test_download_through_open_source_into_archive(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    payload = os.urandom(200_000)
    (drop_dir / "FNB_US01_20261026.bai").write_bytes(payload)
    old(drop_dir / "FNB_US01_20261026.bai")
    (drop_dir / "notes.txt").write_text("not a statement")
    source_cfg = SourceConfig(
        name="fnb_sftp",
        kind="bank_statement",
        format="bai2",
        pattern="*.bai",
        date_pattern=r"_(\d{8})\.",
        transport={
            "type": "sftp",
            "host": ssh_server.host,
            "port": ssh_server.port,
            "username": ssh_server.username,
            "known_hosts": str(known_hosts),
            "key_env": client_key_env,
            "remote_dir": str(drop_dir),
            "ready": {"settle_seconds": 5, "look_interval": 0.1},
        },
    )
    archive = RawArchive(tmp_path / "archive")
    with open_source(source_cfg, tmp_path / "home") as source:
        assert isinstance(source, ReadySource) and isinstance(source.inner, SftpSource)
        [remote] = source.list(source_cfg.pattern)
        assert remote.name == "FNB_US01_20261026.bai"
        assert remote.remote_path == f"{drop_dir}/FNB_US01_20261026.bai"
        data = source.read(remote)
        arrival = archive.store(
            data,
            source=source_cfg.name,
            remote_path=remote.remote_path,
            file_name=remote.name,
            size=remote.size,
            mtime=remote.mtime,
            run_id="r1",
            business_date=source_cfg.business_date_of(remote.name),
        )
    assert data == payload
    assert arrival.sha256 == sha256_hex(payload)
    assert archive.read(arrival.sha256) == payload
    assert arrival.business_date == date(2026, 10, 26).isoformat()
    work = tmp_path / "home" / "tmp" / "sftp" / "fnb_sftp"
    assert list(work.iterdir()) == []  # no partial or leftover copies


def test_download_is_atomic_rename_of_a_partial(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    (drop_dir / "a.csv").write_bytes(b"x" * 100_000)
    source = make_source(ssh_server, drop_dir, known_hosts)
    [remote] = source.list()
    dest = tmp_path / "dest"
    final = source.download(remote, dest)
    assert final == dest / "a.csv"
    assert final.read_bytes() == b"x" * 100_000
    assert [p.name for p in dest.iterdir()] == ["a.csv"]
    source.close()


def test_file_still_being_written_is_not_taken(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str
) -> None:
    growing = drop_dir / "LBX_20261026.txt"
    growing.write_bytes(b"1" * 1000)
    done = drop_dir / "LBX_20261023.txt"
    done.write_bytes(b"2" * 10)
    old(done)
    inner = make_source(ssh_server, drop_dir, known_hosts)

    def writer_appends(_seconds: float) -> None:
        with growing.open("ab") as handle:
            handle.write(b"more")

    # The sender appends between the two looks: size changed, so not taken.
    source = ReadySource(
        inner, ReadyRule(settle_seconds=0, look_interval=0.1), sleep=writer_appends
    )
    assert [f.name for f in source.list("LBX_*")] == ["LBX_20261023.txt"]
    # Unchanged across two looks but inside the settle window: still not taken.
    settled = ReadySource(inner, ReadyRule(settle_seconds=30, look_interval=0.1))
    assert [f.name for f in settled.list("LBX_*")] == ["LBX_20261023.txt"]
    # Once quiet for longer than the window it is taken.
    old(growing)
    assert [f.name for f in settled.list("LBX_*")] == ["LBX_20261023.txt", "LBX_20261026.txt"]
    inner.close()


def test_file_changing_during_download_is_refused_as_not_ready(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    target = drop_dir / "a.xml"
    target.write_bytes(b"<a/>")
    source = make_source(ssh_server, drop_dir, known_hosts)
    [remote] = source.list()
    target.write_bytes(b"<a>grown</a>")
    with pytest.raises(FileNotReadyError, match="changed while being taken"):
        source.read(remote)
    source.close()


def test_marker_and_part_conventions(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    base = {
        "type": "sftp",
        "host": ssh_server.host,
        "port": ssh_server.port,
        "username": ssh_server.username,
        "known_hosts": str(known_hosts),
        "key_env": client_key_env,
        "remote_dir": str(drop_dir),
    }
    (drop_dir / "a_20261026.sta").write_text("a")
    (drop_dir / "b_20261026.sta").write_text("b")
    marker_cfg = SourceConfig(
        "m", "bank_statement", "mt940", {**base, "ready": {"marker": ".done"}}
    )
    with open_source(marker_cfg, tmp_path) as source:
        assert source.list("*") == []
        (drop_dir / "a_20261026.sta.done").write_text("")
        assert [f.name for f in source.list("*")] == ["a_20261026.sta"]

    (drop_dir / "c_20261026.sta.part").write_text("c, half written")
    part_cfg = SourceConfig(
        "p", "bank_statement", "mt940", {**base, "ready": {"part_suffix": ".part"}}
    )
    with open_source(part_cfg, tmp_path) as source:
        assert [f.name for f in source.list("*.sta")] == ["a_20261026.sta", "b_20261026.sta"]
        (drop_dir / "c_20261026.sta.part").rename(drop_dir / "c_20261026.sta")
        assert "c_20261026.sta" in [f.name for f in source.list("*.sta")]


# paramiko's read-ahead thread reports the dropped socket on its own; the download itself
# sees the drop, reconnects and resumes, which is what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_connection_cut_mid_transfer_resumes_with_complete_bytes(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    payload = os.urandom(1_500_000)
    (drop_dir / "big_20261026.bai").write_bytes(payload)
    proxy = TcpProxy(ssh_server.port)
    try:
        hosts = ssh_server.write_known_hosts(tmp_path / "kh_proxy", port=proxy.port)
        source = make_source(ssh_server, drop_dir, hosts, port=proxy.port)
        [remote] = source.list()  # first connection: listing is fine
        source.close()
        proxy.cut_after = 500_000  # the next connection dies a third of the way in
        proxy.refuse = 0
        archive = RawArchive(tmp_path / "archive")
        started = time.monotonic()
        data = source.read(remote)
        elapsed = time.monotonic() - started
        arrival = archive.store(
            data,
            source="bank",
            remote_path=remote.remote_path,
            file_name=remote.name,
            size=remote.size,
            mtime=remote.mtime,
            run_id="r1",
            business_date=None,
        )
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert source.connections == 3  # list, the cut download, the resumed download
    assert len(source.resumed_at) == 1 and 0 < source.resumed_at[0] < len(payload)
    assert archive.read(arrival.sha256) == payload
    assert elapsed < 8


def test_server_unreachable_for_a_while_then_recovers(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    (drop_dir / "a.txt").write_text("hello")
    proxy = TcpProxy(ssh_server.port)
    try:
        hosts = ssh_server.write_known_hosts(tmp_path / "kh_proxy", port=proxy.port)
        source = make_source(ssh_server, drop_dir, hosts, port=proxy.port)
        proxy.refuse = 2  # two dropped connection attempts, then the link is back
        [remote] = source.list()
        assert source.read(remote) == b"hello"
        source.close()
        proxy.refuse = 100
        started = time.monotonic()
        with pytest.raises(TransportError, match="failed after 4 attempts"):
            source.list()
        assert time.monotonic() - started < 5  # bounded: never hangs
    finally:
        proxy.close()


def test_unknown_host_key_is_refused_and_never_added(
    ssh_server: SshServer, drop_dir: Path, client_key_env: str, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    source = make_source(ssh_server, drop_dir, known_hosts)
    with pytest.raises(HostKeyError) as caught:
        source.list()
    message = str(caught.value)
    server_key = paramiko.Ed25519Key.from_private_key(
        io.StringIO(ssh_server.host_key.private_openssh)
    )
    assert f"[{ssh_server.host}]:{ssh_server.port}" in message
    assert server_key.fingerprint in message
    assert known_hosts.read_text() == ""


def test_changed_host_key_is_refused_with_both_fingerprints(
    ssh_server: SshServer, drop_dir: Path, client_key_env: str, tmp_path: Path
) -> None:
    impostor = KeyPair.generate()
    known_hosts = tmp_path / "known_hosts"
    line = f"[{ssh_server.host}]:{ssh_server.port} {impostor.public_line}\n"
    known_hosts.write_text(line)
    source = make_source(ssh_server, drop_dir, known_hosts, retry=Retry(attempts=1))
    with pytest.raises(HostKeyError, match="CHANGED") as caught:
        source.list()
    expected = paramiko.PKey.from_type_string(
        "ssh-ed25519", base64.b64decode(impostor.public_line.split()[1])
    )
    assert expected.fingerprint in str(caught.value)
    assert ssh_server.host in str(caught.value)
    assert known_hosts.read_text() == line


def test_path_traversal_names_are_refused(
    ssh_server: SshServer,
    drop_dir: Path,
    known_hosts: Path,
    client_key_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = ssh_server.root / "outside.txt"
    secret.write_text("not yours")
    (drop_dir / "ok.txt").write_text("ok")
    os.symlink(secret, drop_dir / "link.txt")  # a symlink is not a regular file: not taken
    source = make_source(
        ssh_server, drop_dir, known_hosts, post_download=PostDownload(rename="../{name}")
    )
    for bad in (
        RemoteFile("../outside.txt", 9, 0.0, f"{drop_dir}/../outside.txt"),
        RemoteFile("outside.txt", 9, 0.0, str(secret)),
        RemoteFile("/etc/passwd", 9, 0.0, "/etc/passwd"),
        RemoteFile("x", 9, 0.0, "../x"),
    ):
        with pytest.raises(UnsafeNameError):
            source.read(bad)
        with pytest.raises(UnsafeNameError):
            source.download(bad, tmp_path / "dest")
    # A hostile server listing "../x" or an absolute name: skipped, never a local path.
    sftp = source._session()
    real = sftp.listdir_attr

    def hostile(path: str) -> list[paramiko.SFTPAttributes]:
        entries = real(path)
        for name in ("../x", "/etc/passwd", ".."):
            attr = paramiko.SFTPAttributes()
            attr.filename, attr.st_size, attr.st_mtime, attr.st_mode = name, 1, 0, 0o100644
            entries.append(attr)
        return entries

    monkeypatch.setattr(sftp, "listdir_attr", hostile)
    listed = source.list()
    assert [f.name for f in listed] == ["ok.txt"]
    # A post-download rename that would climb out of the folder is refused too.
    with pytest.raises(UnsafeNameError):
        source.acknowledge(listed[0])
    assert (drop_dir / "ok.txt").exists() and not (ssh_server.root / "ok.txt").exists()
    assert not (tmp_path / "dest").exists() or list((tmp_path / "dest").iterdir()) == []
    source.close()


def test_post_download_move_and_rename(
    ssh_server: SshServer, drop_dir: Path, known_hosts: Path, client_key_env: str, tmp_path: Path
) -> None:
    (drop_dir / "a_20261026.sta").write_text("a")
    (drop_dir / "a_20261026.sta.done").write_text("")
    cfg = SourceConfig(
        "m",
        "bank_statement",
        "mt940",
        {
            "type": "sftp",
            "host": ssh_server.host,
            "port": ssh_server.port,
            "username": ssh_server.username,
            "known_hosts": str(known_hosts),
            "key_env": client_key_env,
            "remote_dir": str(drop_dir),
            "ready": {"marker": ".done"},
            "post_download": {"move_to": "processed", "rename": "{name}.taken"},
        },
    )
    with open_source(cfg, tmp_path) as source:
        [remote] = source.list("*.sta")
        assert source.read(remote) == b"a"
        source.acknowledge(remote)
        source.acknowledge(remote)  # idempotent
        assert source.list("*.sta") == []
    assert sorted(p.name for p in (drop_dir / "processed").iterdir()) == [
        "a_20261026.sta.done.taken",
        "a_20261026.sta.taken",
    ]
    assert sorted(p.name for p in drop_dir.iterdir()) == ["processed"]


def test_key_path_in_env_and_missing_or_wrong_credentials(
    ssh_server: SshServer,
    drop_dir: Path,
    known_hosts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = ssh_server.client_key.write_private(tmp_path / "id_ed25519")
    monkeypatch.setenv("FP_KEY_PATH", str(key_file))
    source = make_source(ssh_server, drop_dir, known_hosts, key_env="FP_KEY_PATH")
    assert source.list() == []
    source.close()

    monkeypatch.delenv("FP_TEST_SFTP_KEY", raising=False)
    with pytest.raises(SftpAuthError, match=r"\$FP_TEST_SFTP_KEY is not set"):
        make_source(ssh_server, drop_dir, known_hosts).list()

    stranger = KeyPair.generate()
    monkeypatch.setenv("FP_TEST_SFTP_KEY", stranger.private_openssh)
    with pytest.raises(SftpAuthError) as caught:
        make_source(ssh_server, drop_dir, known_hosts).list()
    assert "PRIVATE KEY" not in str(caught.value)


def test_password_auth_from_environment_over_ssh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("asyncssh")
    # OpenSSH here only has key auth for a throwaway key; password auth is shown on asyncssh.
    server = start_asyncssh(tmp_path / "pw", password="correct horse")
    try:
        (server.root / "a.txt").write_text("pw ok")
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        monkeypatch.setenv("FP_SFTP_PASSWORD", "correct horse")
        source = make_source(
            server, server.root, known_hosts, key_env=None, password_env="FP_SFTP_PASSWORD"
        )
        [remote] = source.list()
        assert source.read(remote) == b"pw ok"
        source.close()
        monkeypatch.setenv("FP_SFTP_PASSWORD", "wrong battery")
        with pytest.raises(SftpAuthError) as caught:
            make_source(
                server, server.root, known_hosts, key_env=None, password_env="FP_SFTP_PASSWORD"
            ).list()
        assert "wrong battery" not in str(caught.value)
    finally:
        server.stop()
