"""A real SSH server for tests: OpenSSH ``sshd`` on a loopback port, or asyncssh's server.

Both speak SFTP over a real SSH connection with their own ed25519 host key and a generated
client key. ``TcpProxy`` sits between client and server so a test can cut the connection after
a number of bytes, or refuse connections for a while, and watch the client recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

SSHD = "/usr/sbin/sshd"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class KeyPair:
    private_openssh: str
    public_line: str  # "ssh-ed25519 AAAA..."

    @classmethod
    def generate(cls) -> KeyPair:
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .decode()
        )
        return cls(private, public)

    def write_private(self, path: Path) -> Path:
        path.write_text(self.private_openssh)
        path.chmod(0o600)
        return path


@dataclass
class SshServer:
    kind: str  # "openssh" or "asyncssh"
    host: str
    port: int
    username: str
    host_key: KeyPair
    client_key: KeyPair
    root: Path
    password: str | None = None
    _stop: list = field(default_factory=list, repr=False)

    def known_hosts_line(self, port: int | None = None) -> str:
        return f"[{self.host}]:{port or self.port} {self.host_key.public_line}\n"

    def write_known_hosts(self, path: Path, port: int | None = None) -> Path:
        path.write_text(self.known_hosts_line(port))
        return path

    def stop(self) -> None:
        for stop in reversed(self._stop):
            with contextlib.suppress(Exception):
                stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_banner(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no SSH banner on {LOOPBACK}:{port} after {timeout}s")


def sshd_missing_reason() -> str | None:
    """Why OpenSSH cannot be used here (None when it can)."""
    if os.environ.get("FP_TEST_SFTP_SERVER") == "asyncssh":
        return "FP_TEST_SFTP_SERVER=asyncssh asks for the asyncssh server"
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (.ci/run installs openssh-server)"
    return None


def start_openssh(base: Path) -> SshServer:
    """``sshd -D -e -f <config>`` on a free loopback port, key auth, ``internal-sftp``."""
    base.mkdir(parents=True, exist_ok=True)
    root = base / "remote"
    root.mkdir()
    host_key, client_key = KeyPair.generate(), KeyPair.generate()
    host_key_path = host_key.write_private(base / "ssh_host_ed25519_key")
    authorized = base / "authorized_keys"
    authorized.write_text(client_key.public_line + "\n")
    authorized.chmod(0o600)
    user = getpass.getuser()
    if os.geteuid() == 0:
        # sshd refuses to start without its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                f"ListenAddress {LOOPBACK}",
                f"HostKey {host_key_path}",
                f"PidFile {base / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "StrictModes no",
                "UsePAM no",
                "Subsystem sftp internal-sftp",
                "ForceCommand internal-sftp",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    log = (base / "sshd.log").open("wb")
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()

    try:
        wait_for_banner(port)
    except RuntimeError:
        stop()
        raise RuntimeError((base / "sshd.log").read_text(errors="replace")) from None
    return SshServer("openssh", LOOPBACK, port, user, host_key, client_key, root, _stop=[stop])


def start_asyncssh(base: Path, password: str = "s3cret-pw") -> SshServer:
    """asyncssh's SFTP server in a thread: key and password auth, real SSH on loopback."""
    import asyncssh

    base.mkdir(parents=True, exist_ok=True)
    root = base / "remote"
    root.mkdir()
    host_key, client_key = KeyPair.generate(), KeyPair.generate()
    user = "finance"

    class Server(asyncssh.SSHServer):
        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == user and given == password

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="asyncssh-server", daemon=True)
    thread.start()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            Server,
            LOOPBACK,
            0,
            server_host_keys=[asyncssh.import_private_key(host_key.private_openssh)],
            authorized_client_keys=asyncssh.import_authorized_keys(client_key.public_line),
            sftp_factory=True,
            allow_scp=False,
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    port = acceptor.sockets[0].getsockname()[1]

    def stop() -> None:
        async def close() -> None:
            acceptor.close()
            await acceptor.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    return SshServer("asyncssh", LOOPBACK, port, user, host_key, client_key, root, password, [stop])


def start_server(base: Path) -> SshServer:
    """OpenSSH when installed, else asyncssh (and say why)."""
    reason = sshd_missing_reason()
    if reason is None:
        return start_openssh(base)
    message = f"SFTP tests use asyncssh's SFTP server over real SSH instead of OpenSSH: {reason}"
    print(f"\n[ssh_harness] {message}")
    warnings.warn(message, UserWarning, stacklevel=2)
    return start_asyncssh(base)


class TcpProxy:
    """Forwards loopback TCP to ``target_port``; can cut or refuse connections on demand.

    ``cut_after``: close the next connection once that many bytes went server -> client.
    ``refuse``: close that many new connections as soon as they are accepted.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.cut_after: int | None = None
        self.refuse = 0
        self.connections = 0
        self.cuts = 0
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.refuse > 0:
                self.refuse -= 1
                client.close()
                continue
            limit, self.cut_after = self.cut_after, None
            try:
                upstream = socket.create_connection((LOOPBACK, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            pair = _Pair(client, upstream, limit, self)
            threading.Thread(target=pair.pump_up, daemon=True).start()
            threading.Thread(target=pair.pump_down, daemon=True).start()

    def close(self) -> None:
        self._closing.set()
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._thread.join(timeout=2)


class _Pair:
    def __init__(
        self, client: socket.socket, upstream: socket.socket, limit: int | None, proxy: TcpProxy
    ) -> None:
        self.client, self.upstream, self.limit, self.proxy = client, upstream, limit, proxy
        self.down = 0

    def _shut(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def pump_up(self) -> None:
        try:
            while data := self.client.recv(65536):
                self.upstream.sendall(data)
        except OSError:
            pass
        self._shut()

    def pump_down(self) -> None:
        try:
            while data := self.upstream.recv(65536):
                if self.limit is not None and self.down + len(data) >= self.limit:
                    self.client.sendall(data[: max(self.limit - self.down, 0)])
                    self.proxy.cuts += 1
                    break
                self.client.sendall(data)
                self.down += len(data)
        except OSError:
            pass
        self._shut()
