"""Real local HTTP servers for connector tests: a Stripe-like API and a generic REST API.

The Stripe server speaks the documented list wire format: ``{"object": "list", "url", "has_more",
"data"}``, newest first, ``limit`` (1..100), ``starting_after``, ``created[gte|gt|lte|lt]``,
``type`` and ``payout`` filters on balance transactions, Bearer auth and Stripe-style error
bodies. Faults (429 with Retry-After, 5xx, slow pages) are queued per test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], bytes]


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def stripe_error(status: int, kind: str, message: str, code: str | None = None) -> Reply:
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return status, {"Content-Type": "application/json"}, dumps({"error": error})


@dataclass
class Fault:
    status: int
    times: int = 1
    path: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    after_requests: int = 0  # let this many matching requests through first


@dataclass
class Logged:
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class ApiServer:
    """A threaded HTTP server on 127.0.0.1 with a route function, fault queue and request log."""

    def __init__(self, route: Callable[[str, dict[str, str], dict[str, str]], Reply]) -> None:
        self.route = route
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.arrived: list[Logged] = []  # logged on arrival, before any delay
        self.delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, body = server.reply(parts.path, query, headers)
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **extra}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def reply(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.arrived.append(Logged(path, dict(query), 0))
            fault = None
            for candidate in self.faults:
                if candidate.times > 0 and path.startswith(candidate.path):
                    if candidate.after_requests > 0:
                        candidate.after_requests -= 1
                        continue
                    candidate.times -= 1
                    fault = candidate
                    break
        delay = self.delays.get(query.get("starting_after", ""), 0.0)
        if fault is not None:
            self._stopping.wait(fault.delay)
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            kind = "rate_limit_error" if fault.status == 429 else "api_error"
            status, base_headers, body = stripe_error(fault.status, kind, "injected fault")
            reply = (status, {**base_headers, **extra}, body)
        else:
            self._stopping.wait(delay)
            reply = self.route(path, query, headers)
        with self._lock:
            self.log.append(Logged(path, dict(query), reply[0], headers))
        return reply

    def requests_to(self, path: str) -> list[Logged]:
        return [entry for entry in self.log if entry.path == path]

    def close(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


STRIPE_PATHS = {
    "/v1/balance_transactions": "balance_transaction",
    "/v1/payouts": "payout",
    "/v1/charges": "charge",
    "/v1/refunds": "refund",
}


class StripeData:
    """The objects a fake Stripe account holds, per list path."""

    def __init__(self, api_key: str = "sk_test_fake_51Hx") -> None:
        self.api_key = api_key
        self.objects: dict[str, list[dict[str, Any]]] = {path: [] for path in STRIPE_PATHS}

    def add(self, path: str, **fields: Any) -> dict[str, Any]:
        obj = {"object": STRIPE_PATHS[path], **fields}
        self.objects[path].append(obj)
        return obj

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return stripe_error(401, "invalid_request_error", "Invalid API Key provided")
        if path not in self.objects:
            return stripe_error(404, "invalid_request_error", f"Unrecognized request URL {path}")
        try:
            limit = int(query.get("limit", "10"))
        except ValueError:
            return stripe_error(400, "invalid_request_error", "Invalid integer: limit")
        if not 1 <= limit <= 100:
            return stripe_error(400, "invalid_request_error", "limit must be 1..100")
        rows = sorted(self.objects[path], key=lambda o: (o["created"], o["id"]), reverse=True)
        for name in ("type", "payout"):
            if name in query:
                rows = [o for o in rows if o.get(name) == query[name]]
        bounds = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
        for op, test in bounds.items():
            if f"created[{op}]" in query:
                edge = int(query[f"created[{op}]"])
                rows = [o for o in rows if test(o["created"], edge)]
        start = 0
        if "starting_after" in query:
            ids = [o["id"] for o in rows]
            if query["starting_after"] not in ids:
                return stripe_error(
                    400,
                    "invalid_request_error",
                    f"No such object: '{query['starting_after']}'",
                    "resource_missing",
                )
            start = ids.index(query["starting_after"]) + 1
        page = rows[start : start + limit]
        body = {
            "object": "list",
            "url": path,
            "has_more": start + limit < len(rows),
            "data": page,
        }
        return 200, {"Request-Id": f"req_{len(page)}"}, dumps(body)


def balance_transactions(data: StripeData, count: int, *, payout: str = "po_1") -> list[str]:
    """``count`` balance transactions, one second apart; ids newest first."""
    for n in range(count):
        kind = "charge" if n % 3 else "refund"
        amount = 1000 + n if kind == "charge" else -(500 + n)
        data.add(
            "/v1/balance_transactions",
            id=f"txn_{n:04d}",
            amount=amount,
            fee=30 if kind == "charge" else 0,
            net=amount - (30 if kind == "charge" else 0),
            currency="usd",
            type=kind,
            created=1_790_000_000 + n,
            available_on=1_790_200_000,
            payout=payout,
            status="available",
            reporting_category=kind,
        )
    return [f"txn_{n:04d}" for n in reversed(range(count))]
