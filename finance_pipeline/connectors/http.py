"""The HTTP core every API connector shares: polite retries and crash-safe pagination.

* ``HttpCore.get`` retries 429 (honouring ``Retry-After``), 5xx and dropped connections with
  jittered exponential backoff, a cap per wait and a bounded number of attempts. It never
  follows a URL to another origin (the auth header would go with it) and never logs headers.
* ``sync_stream`` walks the pages of one stream. Each page's raw bytes go into the raw archive
  like a delivered file, then the *next request* is committed to the cursor store. After a
  crash the sync replays the committed request, so no page is fetched into the archive twice:
  at worst the page in flight is fetched again and the archive, keyed on its bytes, adds no row.
"""

from __future__ import annotations

import json
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from finance_pipeline.archive import Arrival, RawArchive
from finance_pipeline.connectors.state import CursorStore

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ConnectorError(RuntimeError):
    """An API could not be read (after retries, or a permanent error)."""


class HttpStatusError(ConnectorError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Backoff:
    """Bounded retries: ``attempts`` tries in all, waits capped at ``max_delay`` seconds."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Wait before retry number ``attempt`` (1-based); never earlier than ``Retry-After``."""
        if retry_after is not None:
            return retry_after + rng.uniform(0, min(1.0, 0.1 * retry_after + 0.05))
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None) -> Backoff:
        block = block or {}
        return cls(
            attempts=int(block.get("attempts", cls.attempts)),
            base_delay=float(block.get("base_seconds", cls.base_delay)),
            max_delay=float(block.get("max_seconds", cls.max_delay)),
            max_retry_after=float(block.get("max_retry_after_seconds", cls.max_retry_after)),
        )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch; what gets committed as the resume point."""

    url: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, url: str, params: Mapping[str, Any] | None = None) -> PageRequest:
        items = tuple((str(k), str(v)) for k, v in (params or {}).items() if v is not None)
        return cls(url, items)

    def with_params(self, **changes: Any) -> PageRequest:
        merged = dict(self.params)
        for key, value in changes.items():
            merged.pop(key, None)
            if value is not None:
                merged[key] = str(value)
        return PageRequest(self.url, tuple(merged.items()))

    def to_state(self) -> dict[str, Any]:
        return {"url": self.url, "params": [list(p) for p in self.params]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PageRequest:
        return cls(state["url"], tuple((str(k), str(v)) for k, v in state.get("params", [])))


def _error_message(response: httpx.Response) -> str:
    """The API's own error text (Stripe: ``error.message``), short; never our headers."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or error)[:200]
        if error:
            return str(error)[:200]
        return str(body.get("message", body))[:200]
    return str(body)[:200]


class HttpCore:
    """A retrying GET client bound to one API origin."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = httpx.URL(base_url)
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
        )
        #: Every wait taken before a retry, in seconds (tests and metrics read it).
        self.waits: list[float] = []

    def close(self) -> None:
        self._client.close()

    def _checked_url(self, url: str) -> str:
        target = httpx.URL(url)
        if not target.is_relative_url and (
            target.scheme,
            target.host,
            target.port,
        ) != (self.base_url.scheme, self.base_url.host, self.base_url.port):
            raise ConnectorError(
                f"refusing to request {target.scheme}://{target.host}: not the configured "
                f"API origin {self.base_url.scheme}://{self.base_url.host}"
            )
        return url

    def get(self, request: PageRequest) -> httpx.Response:
        url = self._checked_url(request.url)
        # httpx replaces a URL's own query when params are given: pass none for Link URLs.
        params = list(request.params) or None
        for attempt in range(1, self.backoff.attempts + 1):
            retry_after: float | None = None
            try:
                response = self._client.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise HttpStatusError(
                        response.status_code,
                        f"GET {response.request.url.path} -> HTTP {response.status_code}: "
                        f"{_error_message(response)}",
                    )
                problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.backoff.max_retry_after:
                    raise HttpStatusError(
                        response.status_code,
                        f"GET {url}: server asks to wait {retry_after:.0f}s, more than the "
                        f"configured {self.backoff.max_retry_after:.0f}s",
                    )
            if attempt == self.backoff.attempts:
                raise ConnectorError(f"GET {url} failed after {attempt} attempts: {problem}")
            delay = self.backoff.delay(attempt, self._rng, retry_after)
            log.warning(
                "GET %s: %s, retrying in %.2fs (attempt %d of %d)",
                url,
                problem,
                delay,
                attempt + 1,
                self.backoff.attempts,
            )
            self.waits.append(delay)
            self._sleep(delay)
        raise AssertionError("unreachable")


class PageStream(ABC):
    """What a connector tells ``sync_stream`` about one paginated list."""

    #: Cursor-store key: source, endpoint and filters (a different filter is another stream).
    key: str
    #: Short name used in archived file names (``charges``, ``invoices``).
    resource: str

    @abstractmethod
    def first_request(self, watermark: Any) -> PageRequest:
        """The first page of a new pass, from the committed watermark (None: from the start)."""

    @abstractmethod
    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of one decoded page (raises ``ConnectorError`` on a malformed page)."""

    @abstractmethod
    def next_request(
        self,
        request: PageRequest,
        response: httpx.Response,
        body: Any,
        records: list[dict[str, Any]],
    ) -> PageRequest | None:
        """The page after this one, or None at the end of the list."""

    def watermark_of(self, records: list[dict[str, Any]]) -> Any:
        """The highest incremental value among ``records`` (None: not incremental)."""
        return None


@dataclass
class SyncResult:
    stream: str
    pages: list[Arrival] = field(default_factory=list)
    records: int = 0
    resumed_at_page: int | None = None
    watermark: Any = None

    @property
    def new_pages(self) -> list[Arrival]:
        return [page for page in self.pages if not page.is_duplicate]


def _higher(current: Any, candidate: Any) -> Any:
    if candidate is None:
        return current
    if current is None:
        return candidate
    try:
        return max(current, candidate)
    except TypeError:
        return max(str(current), str(candidate))


def decode_page(response: httpx.Response) -> Any:
    """JSON with decimals kept exact: money never passes through a float."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise ConnectorError(
            f"GET {response.request.url.path}: response is not JSON ({exc})"
        ) from None


def sync_stream(
    core: HttpCore,
    stream: PageStream,
    store: CursorStore,
    archive: RawArchive,
    *,
    source: str,
    run_id: str,
    business_date: date,
    after_commit: Callable[[int, Arrival], None] | None = None,
    max_pages: int = 100_000,
) -> SyncResult:
    """Fetch every page of ``stream`` from its committed cursor, archiving each page."""
    state = store.load(stream.key)
    progress = state.get("in_progress")
    result = SyncResult(stream=stream.key)
    if progress:
        request: PageRequest | None = PageRequest.from_state(progress["next"])
        page_no = int(progress["page"])
        high = progress.get("high_water")
        result.resumed_at_page = page_no + 1
        log.info("%s: resuming %s at page %d", source, stream.resource, page_no + 1)
    else:
        request = stream.first_request(state.get("watermark"))
        page_no = 0
        high = state.get("watermark")
    seen: set[PageRequest] = set()
    while request is not None:
        if page_no >= max_pages:
            raise ConnectorError(f"{source}: {stream.resource} exceeded {max_pages} pages")
        response = core.get(request)
        body = decode_page(response)
        records = stream.records(body)
        page_no += 1
        arrival = archive.store(
            response.content,
            source=source,
            remote_path=str(response.request.url),
            file_name=f"{stream.resource}_p{page_no:05d}_{business_date:%Y%m%d}.json",
            size=len(response.content),
            mtime=time.time(),
            run_id=run_id,
            business_date=business_date,
        )
        result.pages.append(arrival)
        result.records += len(records)
        high = _higher(high, stream.watermark_of(records))
        seen.add(request)
        following = stream.next_request(request, response, body, records)
        if following is not None and following in seen:
            raise ConnectorError(
                f"{source}: {stream.resource} pagination repeats a request; stopping "
                f"(page {page_no}, cursor not advancing)"
            )
        committed_at = datetime.now(UTC).isoformat(timespec="seconds")
        if following is None:
            store.commit(
                stream.key,
                {
                    "watermark": high,
                    "in_progress": None,
                    "completed_at": committed_at,
                    "pages_in_last_pass": page_no,
                },
            )
        else:
            store.commit(
                stream.key,
                {
                    "watermark": state.get("watermark"),
                    "in_progress": {
                        "next": following.to_state(),
                        "page": page_no,
                        "high_water": high,
                    },
                    "committed_at": committed_at,
                },
            )
        if after_commit is not None:
            after_commit(page_no, arrival)
        request = following
    result.watermark = high
    return result


def dig(body: Any, path: str | None) -> Any:
    """``data.items`` -> body["data"]["items"]; an empty path is the body itself."""
    node = body
    for part in (path or "").split("."):
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
