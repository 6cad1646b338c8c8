"""Run-failure alerts: log, webhook (JSON POST) and e-mail channels from ``alerts:`` config.

Plain Python (no Dagster) so each channel can be tested against a real local server. The
sensor in ``sensors/run_failure.py`` builds a :class:`RunFailureAlert` and calls
:func:`dispatch`. Secrets (a webhook token, an SMTP password) are read from the environment
variables the config names, at send time, never from the file. A channel that fails is
reported in its :class:`Delivery` and never stops the other channels.

Configuration (``finance_pipeline.yaml``)::

    alerts:
      - kind: log                         # always safe: Python logging at ERROR
      - kind: webhook
        url: https://hooks.example.com/finance
        auth_env: FINANCE_ALERT_TOKEN     # optional: env var holding the header value
        auth_header: Authorization        # optional, default Authorization
        timeout_seconds: 5                # per attempt
        max_attempts: 3                   # bounded retries on network errors, 429 and 5xx
        backoff_seconds: 1.0              # doubled after each failed attempt
      - kind: email
        host: smtp.example.com
        port: 587
        sender: dagster@example.com
        to: [finance-ops@example.com]
        starttls: true                    # optional, default false
        username_env: SMTP_USER           # optional
        password_env: SMTP_PASSWORD       # optional
        timeout_seconds: 10

Without an ``alerts:`` block the log channel alone is used.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

log = logging.getLogger("finance_pipeline.alerts")

KINDS = ("log", "webhook", "email")
DEFAULT_CHANNELS: tuple[dict[str, Any], ...] = ({"kind": "log"},)


class AlertConfigError(ValueError):
    """An ``alerts:`` entry that cannot work (unknown kind, missing url or host)."""


@dataclass(frozen=True)
class StepError:
    """One failed step of a run, with the error as Dagster recorded it."""

    step_key: str
    error_class: str | None
    message: str


@dataclass(frozen=True)
class RunFailureAlert:
    """What every channel sends: enough to find the run and see why it failed."""

    run_id: str
    job: str
    partition: str | None
    message: str
    occurred_at: str  # ISO 8601, UTC
    step_errors: tuple[StepError, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["event"] = "run_failure"
        body["step_errors"] = [asdict(e) for e in self.step_errors]
        body["tags"] = dict(self.tags)
        return body

    def subject(self) -> str:
        where = f" [{self.partition}]" if self.partition else ""
        return f"[finance-pipeline] run failed: {self.job}{where}"

    def text(self) -> str:
        lines = [
            self.subject(),
            "",
            f"run id:    {self.run_id}",
            f"job:       {self.job}",
            f"partition: {self.partition or '-'}",
            f"at:        {self.occurred_at}",
            f"message:   {self.message}",
        ]
        if self.step_errors:
            lines += ["", "failed steps:"]
            lines += [
                f"  - {e.step_key}: {e.error_class or 'error'}: {e.message}"
                for e in self.step_errors
            ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Delivery:
    """The outcome of one channel, recorded next to the failure so nothing fails silently."""

    kind: str
    ok: bool
    attempts: int
    detail: str


def channels_from_settings(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``alerts:`` list of a loaded configuration, validated; the log channel by default."""
    raw = settings.get("alerts")
    if raw is None:
        return [dict(c) for c in DEFAULT_CHANNELS]
    if not isinstance(raw, list):
        raise AlertConfigError("alerts: must be a list of channels")
    channels: list[dict[str, Any]] = []
    for idx, item in enumerate(raw):
        where = f"alerts[{idx}]"
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise AlertConfigError(f"{where}: needs kind, one of {KINDS}")
        if item["kind"] == "webhook" and not item.get("url"):
            raise AlertConfigError(f"{where}: a webhook needs a url")
        if item["kind"] == "email":
            for key in ("host", "sender", "to"):
                if not item.get(key):
                    raise AlertConfigError(f"{where}: an email channel needs {key}")
        channels.append(dict(item))
    return channels


def _secret(channel: Mapping[str, Any], key: str) -> str | None:
    """The value of the environment variable named by ``channel[key]`` (None when unset)."""
    name = channel.get(key)
    if not name:
        return None
    value = os.environ.get(str(name))
    if value is None:
        raise AlertConfigError(f"environment variable {name} (alerts {key}) is not set")
    return value


def send_log(alert: RunFailureAlert, channel: Mapping[str, Any]) -> Delivery:
    log.error("%s", alert.text().rstrip())
    return Delivery("log", True, 1, "logged")


def send_webhook(
    alert: RunFailureAlert,
    channel: Mapping[str, Any],
    client: httpx.Client | None = None,
    sleep: Any = time.sleep,
) -> Delivery:
    """POST the alert as JSON; retry network errors, 429 and 5xx a bounded number of times."""
    url = str(channel["url"])
    headers = {"Content-Type": "application/json"}
    token = _secret(channel, "auth_env")
    if token is not None:
        headers[str(channel.get("auth_header", "Authorization"))] = token
    attempts = max(1, int(channel.get("max_attempts", 3)))
    delay = float(channel.get("backoff_seconds", 1.0))
    timeout = float(channel.get("timeout_seconds", 5.0))
    body = json.dumps(alert.as_json(), sort_keys=True).encode()
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    detail = ""
    try:
        for attempt in range(1, attempts + 1):
            try:
                response = http.post(url, content=body, headers=headers, timeout=timeout)
            except httpx.TransportError as exc:
                detail = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return Delivery("webhook", True, attempt, f"HTTP {response.status_code}")
                detail = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    return Delivery("webhook", False, attempt, detail)  # not worth retrying
            if attempt < attempts:
                sleep(delay)
                delay *= 2
        return Delivery("webhook", False, attempts, detail)
    finally:
        if own:
            http.close()


def build_email(alert: RunFailureAlert, channel: Mapping[str, Any]) -> EmailMessage:
    recipients = channel["to"]
    message = EmailMessage()
    message["Subject"] = alert.subject()
    message["From"] = str(channel["sender"])
    message["To"] = ", ".join(recipients if isinstance(recipients, list) else [recipients])
    message.set_content(alert.text())
    message.add_attachment(
        json.dumps(alert.as_json(), indent=2, sort_keys=True).encode(),
        maintype="application",
        subtype="json",
        filename=f"run-failure-{alert.run_id}.json",
    )
    return message


def send_email(alert: RunFailureAlert, channel: Mapping[str, Any]) -> Delivery:
    """Send one message through the configured SMTP relay (STARTTLS and login optional)."""
    message = build_email(alert, channel)
    timeout = float(channel.get("timeout_seconds", 10.0))
    user, password = _secret(channel, "username_env"), _secret(channel, "password_env")
    with smtplib.SMTP(str(channel["host"]), int(channel.get("port", 25)), timeout=timeout) as smtp:
        if channel.get("starttls"):
            smtp.starttls()
        if user is not None and password is not None:
            smtp.login(user, password)
        refused = smtp.send_message(message)
    if refused:
        return Delivery("email", False, 1, f"refused: {sorted(refused)}")
    return Delivery("email", True, 1, f"sent to {message['To']}")


SENDERS = {"log": send_log, "webhook": send_webhook, "email": send_email}


def dispatch(alert: RunFailureAlert, channels: Sequence[Mapping[str, Any]]) -> list[Delivery]:
    """Send ``alert`` on every channel; a failing channel is reported, never raised."""
    deliveries: list[Delivery] = []
    for channel in channels:
        kind = str(channel.get("kind"))
        try:
            deliveries.append(SENDERS[kind](alert, channel))
        except Exception as exc:  # one broken channel must not hide the alert on the others
            deliveries.append(Delivery(kind, False, 1, f"{type(exc).__name__}: {exc}"))
        if not deliveries[-1].ok:
            log.warning("alert channel %s failed: %s", kind, deliveries[-1].detail)
    return deliveries


def failure_log_path(home_root: os.PathLike[str] | str) -> str:
    return os.path.join(os.fspath(home_root), "alerts", "run_failures.jsonl")


def already_recorded(path: os.PathLike[str] | str, run_id: str) -> bool:
    """True when ``run_id`` is in the failure log: a re-evaluated sensor must not alert twice."""
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if run_id in line and json.loads(line).get("run_id") == run_id:
                return True
    return False


def record_failure(
    path: os.PathLike[str] | str, alert: RunFailureAlert, deliveries: Sequence[Delivery]
) -> None:
    """Append one JSON line (the alert and how each channel fared); never rewrite the file."""
    os.makedirs(os.path.dirname(os.fspath(path)), exist_ok=True)
    row = {**alert.as_json(), "deliveries": [asdict(d) for d in deliveries]}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, sort_keys=True, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
