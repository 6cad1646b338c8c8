"""An SFTP folder as a file source (bank and lockbox drops), on paramiko.

Why it is shaped this way:

* The server's host key must already be in the configured ``known_hosts``; an unknown or
  changed key is refused (never added), with an error naming the host and the fingerprint.
* Credentials come only from environment variables named in the config, read when connecting;
  they never appear in messages or logs.
* Downloads go to a ``.partial`` file named after the file version, so a dropped connection
  resumes from the bytes already received (after a backoff) instead of starting over, and the
  finished file appears with one atomic rename. A file that changes while it is taken is
  refused as not ready.
* Remote names are checked with ``safe_name``: nothing outside ``remote_dir`` is ever read,
  written or moved.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import posixpath
import random
import re
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import paramiko

from finance_pipeline.masking import mask_account
from finance_pipeline.transports.base import (
    FileNotReadyError,
    FileSource,
    RemoteFile,
    TransportError,
    UnsafeNameError,
    matches,
    safe_name,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
CHUNK = 32768


class HostKeyError(TransportError):
    """The server's host key is unknown or differs from ``known_hosts``: never connect."""


class SftpAuthError(TransportError):
    """Credentials are missing or were refused (the message never contains them)."""


def fingerprint(key: paramiko.PKey) -> str:
    """``ssh-ed25519 SHA256:...`` as ``ssh-keygen -l`` shows it."""
    return f"{key.get_name()} {key.fingerprint}"


class _RefuseUnknownHost(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, with an error that says which key was offered."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        raise HostKeyError(
            f"host {hostname} is not in {self.known_hosts}: refusing its key "
            f"{fingerprint(key)} (add it to known_hosts only after checking it out of band)"
        )


@dataclass(frozen=True)
class Retry:
    """Bounded retries with jittered exponential backoff for dropped connections."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class PostDownload:
    """What to do on the server once a file is archived: move it, rename it, or both."""

    move_to: str | None = None
    rename: str | None = None

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None) -> PostDownload | None:
        if not block:
            return None
        unknown = set(block) - {"move_to", "rename"}
        if unknown:
            raise TransportError(f"transport.post_download: unknown keys {sorted(unknown)}")
        return cls(move_to=block.get("move_to"), rename=block.get("rename"))


def _load_private_key(material: str, passphrase: str | None, env_name: str) -> paramiko.PKey:
    """A key from an environment variable holding the key text or the path to a key file."""
    text = material.strip()
    if not text.startswith("-----BEGIN"):
        try:
            return paramiko.PKey.from_path(text, password=passphrase)
        except (OSError, ValueError, paramiko.SSHException) as exc:
            raise SftpAuthError(
                f"private key file named by ${env_name} cannot be loaded ({type(exc).__name__})"
            ) from None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text + "\n"), password=passphrase)
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise SftpAuthError(f"private key in ${env_name} cannot be loaded (unknown type or passphrase)")


def shown(name: str) -> str:
    """A file name for logs: long digit runs (account numbers) masked, dates kept."""
    return re.sub(r"\d{9,}", lambda m: mask_account(m.group(0)), name)


class SftpSource(FileSource):
    """Files in one folder of an SFTP server."""

    def __init__(
        self,
        *,
        host: str,
        username: str,
        known_hosts: Path,
        remote_dir: str,
        port: int = 22,
        key_env: str | None = None,
        password_env: str | None = None,
        passphrase_env: str | None = None,
        work_dir: Path | None = None,
        post_download: PostDownload | None = None,
        timeout: float = 15.0,
        retry: Retry | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not key_env and not password_env:
            raise SftpAuthError(f"sftp {host}: configure key_env or password_env")
        self.host = host
        self.port = int(port)
        self.username = username
        self.known_hosts = Path(known_hosts)
        self.remote_dir = remote_dir.rstrip("/") or "/"
        self.key_env = key_env
        self.password_env = password_env
        self.passphrase_env = passphrase_env
        self.work_dir = work_dir or Path(tempfile.gettempdir()) / "finance-pipeline-sftp"
        self.post_download = post_download
        self.timeout = timeout
        self.retry = retry or Retry()
        self.description = f"sftp://{username}@{host}:{self.port}{self.remote_dir}"
        self._environ = environ
        self._sleep = sleep
        self._rng = random.Random()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        #: Connections opened so far (tests and logs use it to show a reconnect happened).
        self.connections = 0
        #: Offsets downloads resumed from after a dropped connection.
        self.resumed_at: list[int] = []

    @classmethod
    def from_config(
        cls, transport: Mapping[str, Any], home: Path, *, source_name: str = "sftp"
    ) -> SftpSource:
        """Build from a ``transport: {type: sftp, ...}`` block; relative paths use ``home``."""
        for key in ("host", "username", "known_hosts", "remote_dir"):
            if not transport.get(key):
                raise TransportError(f"source {source_name!r}: transport.{key} is required")
        known_hosts = Path(transport["known_hosts"]).expanduser()
        retry = Retry(
            attempts=int(transport.get("retries", Retry.attempts)),
            base_delay=float(transport.get("backoff_seconds", Retry.base_delay)),
            max_delay=float(transport.get("max_backoff_seconds", Retry.max_delay)),
        )
        return cls(
            host=str(transport["host"]),
            port=int(transport.get("port", 22)),
            username=str(transport["username"]),
            known_hosts=known_hosts if known_hosts.is_absolute() else home / known_hosts,
            remote_dir=str(transport["remote_dir"]),
            key_env=transport.get("key_env"),
            password_env=transport.get("password_env"),
            passphrase_env=transport.get("passphrase_env"),
            work_dir=home / "tmp" / "sftp" / safe_name(source_name),
            post_download=PostDownload.from_config(transport.get("post_download")),
            timeout=float(transport.get("timeout_seconds", 15.0)),
            retry=retry,
        )

    # -- connection ---------------------------------------------------------------------------

    def _env(self, name: str) -> str | None:
        environ = self._environ if self._environ is not None else os.environ
        return environ.get(name)

    def _credentials(self) -> dict[str, Any]:
        if self.key_env:
            material = self._env(self.key_env)
            if material:
                passphrase = self._env(self.passphrase_env) if self.passphrase_env else None
                return {"pkey": _load_private_key(material, passphrase, self.key_env)}
            if not self.password_env:
                raise SftpAuthError(f"{self.description}: ${self.key_env} is not set")
        assert self.password_env
        password = self._env(self.password_env)
        if not password:
            raise SftpAuthError(f"{self.description}: ${self.password_env} is not set")
        return {"password": password}

    def _connect(self) -> paramiko.SFTPClient:
        if not self.known_hosts.is_file():
            raise HostKeyError(f"known_hosts file {self.known_hosts} does not exist")
        credentials = self._credentials()
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(_RefuseUnknownHost(self.known_hosts))
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                channel_timeout=self.timeout,
                allow_agent=False,
                look_for_keys=False,
                **credentials,
            )
            sftp = client.open_sftp()
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(
                f"host key for {exc.hostname} has CHANGED: the server offered "
                f"{fingerprint(exc.key)} but {self.known_hosts} expects "
                f"{fingerprint(exc.expected_key)}; refusing to connect"
            ) from None
        except paramiko.AuthenticationException:
            client.close()
            raise SftpAuthError(
                f"{self.description}: authentication refused for user {self.username!r}"
            ) from None
        except BaseException:
            client.close()
            raise
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(self.timeout)
        self._client, self._sftp = client, sftp
        self.connections += 1
        return sftp

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self.close()
        return self._connect()

    def close(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        for thing in (sftp, client):
            if thing is not None:
                with contextlib.suppress(Exception):  # a dead connection fails to close
                    thing.close()

    def _with_retry(self, what: str, operation: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run ``operation`` on a live session; reconnect with backoff when the link drops."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return operation(self._session())
            except (HostKeyError, SftpAuthError, FileNotReadyError, UnsafeNameError):
                raise
            except (FileNotFoundError, PermissionError) as exc:
                raise TransportError(f"{self.description}: {what}: {exc.strerror or exc}") from exc
            except (OSError, EOFError, paramiko.SSHException) as exc:
                self.close()
                if attempt == self.retry.attempts:
                    raise TransportError(
                        f"{self.description}: {what} failed after {attempt} attempts: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                delay = self.retry.delay(attempt, self._rng)
                log.warning(
                    "%s: %s failed (%s), retrying in %.2fs (attempt %d of %d)",
                    self.description,
                    what,
                    type(exc).__name__,
                    delay,
                    attempt + 1,
                    self.retry.attempts,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")

    # -- FileSource ---------------------------------------------------------------------------

    def _path_of(self, file: RemoteFile) -> str:
        """The remote path of a listed file, refusing anything outside ``remote_dir``."""
        name = safe_name(file.name)
        path = posixpath.join(self.remote_dir, name)
        if file.remote_path != path:
            raise UnsafeNameError(
                f"refusing remote path {file.remote_path!r}: not {name!r} in {self.remote_dir}"
            )
        return path

    def list(self, pattern: str = "*") -> list[RemoteFile]:
        entries = self._with_retry("list", lambda sftp: sftp.listdir_attr(self.remote_dir))
        found = []
        for entry in entries:
            try:
                name = safe_name(entry.filename)
            except UnsafeNameError:
                log.warning("%s: skipping unsafe name %r", self.description, shown(entry.filename))
                continue
            if entry.st_mode is not None and not stat.S_ISREG(entry.st_mode):
                continue
            if not matches(name, pattern):
                continue
            found.append(
                RemoteFile(
                    name,
                    int(entry.st_size or 0),
                    float(entry.st_mtime or 0),
                    posixpath.join(self.remote_dir, name),
                )
            )
        return sorted(found)

    def download(self, file: RemoteFile, dest_dir: Path) -> Path:
        """Fetch ``file`` into ``dest_dir`` (resuming a partial download), atomically."""
        path = self._path_of(file)
        dest_dir.mkdir(parents=True, exist_ok=True)
        final = dest_dir / safe_name(file.name)
        version = hashlib.sha256(file.version_key.encode()).hexdigest()[:24]
        partial = dest_dir / f".{version}.partial"

        def unchanged(sftp: paramiko.SFTPClient) -> None:
            now = sftp.stat(path)
            if (now.st_size, int(now.st_mtime or 0)) != (file.size, int(file.mtime)):
                partial.unlink(missing_ok=True)
                raise FileNotReadyError(
                    f"{self.description}: {shown(file.name)} changed while being taken "
                    f"(size {file.size} -> {now.st_size}); it will be taken on a later look"
                )

        def fetch(sftp: paramiko.SFTPClient) -> None:
            unchanged(sftp)
            have = partial.stat().st_size if partial.exists() else 0
            if have > file.size:
                partial.unlink()
                have = 0
            if have:
                self.resumed_at.append(have)
                log.info("%s: resuming %s at byte %d", self.description, shown(file.name), have)
            with sftp.open(path, "rb") as remote, partial.open("ab") as out:
                remote.seek(have)
                remaining = file.size - have
                if remaining:
                    remote.prefetch(file.size, max_concurrent_requests=16)
                while remaining:
                    chunk = remote.read(min(CHUNK, remaining))
                    if not chunk:
                        partial.unlink(missing_ok=True)
                        raise FileNotReadyError(f"{self.description}: {shown(file.name)} shrank")
                    out.write(chunk)
                    remaining -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
            unchanged(sftp)

        self._with_retry(f"download {shown(file.name)}", fetch)
        os.replace(partial, final)
        return final

    def read(self, file: RemoteFile) -> bytes:
        final = self.download(file, self.work_dir)
        try:
            return final.read_bytes()
        finally:
            final.unlink(missing_ok=True)

    def acknowledge(self, file: RemoteFile) -> None:
        """Apply ``post_download`` (move and/or rename on the server); idempotent."""
        if self.post_download is None:
            return
        source = self._path_of(file)
        target_dir = self.remote_dir
        if self.post_download.move_to:
            target_dir = posixpath.normpath(
                posixpath.join(self.remote_dir, self.post_download.move_to)
            )
        new_name = file.name
        if self.post_download.rename:
            new_name = safe_name(self.post_download.rename.replace("{name}", file.name))
        target = posixpath.join(target_dir, new_name)
        if target == source:
            return

        def move(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.stat(source)
            except FileNotFoundError:
                return  # already moved (a retried acknowledgement) or a marker the sender removed
            if target_dir != self.remote_dir:
                try:
                    sftp.stat(target_dir)
                except FileNotFoundError:
                    sftp.mkdir(target_dir)
            try:
                sftp.posix_rename(source, target)
            except OSError:
                sftp.rename(source, target)

        self._with_retry(f"move {shown(file.name)}", move)
