"""A configurable REST connector for SaaS exports that have no connector of their own.

Configured in the source's transport block::

    transport:
      type: http
      connector: rest
      base_url: https://api.example.com
      path: /v2/invoices
      params: {status: posted}
      auth: {header: Authorization, env: EXAMPLE_TOKEN, prefix: "Bearer "}
      record_path: data.items            # where the records are in each page
      pagination:                        # one of:
        {type: cursor, param: cursor, next_path: meta.next_cursor, limit_param: limit}
        {type: offset, offset_param: offset, limit_param: limit, page_size: 100}
        {type: link}                     # RFC 8288 Link: <...>; rel="next"
        {type: none}
      watermark: {field: updated_at, param: updated_since}   # optional, incremental syncs

The token is read from the named environment variable when the connector is built.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from finance_pipeline.archive import RawArchive
from finance_pipeline.connectors.http import (
    Backoff,
    ConnectorError,
    HttpCore,
    PageRequest,
    PageStream,
    SyncResult,
    decode_page,
    dig,
    sync_stream,
)
from finance_pipeline.connectors.state import CursorStore

PAGINATIONS = ("cursor", "offset", "link", "none")


class RestStream(PageStream):
    """One endpoint of a REST API, paginated as configured."""

    def __init__(self, source: str, spec: Mapping[str, Any]) -> None:
        self.path = str(spec.get("path") or "")
        if not self.path:
            raise ConnectorError(f"source {source!r}: transport.path is required")
        self.params = dict(spec.get("params") or {})
        self.record_path = spec.get("record_path")
        self.pagination = dict(spec.get("pagination") or {"type": "none"})
        self.kind = self.pagination.get("type", "none")
        if self.kind not in PAGINATIONS:
            raise ConnectorError(
                f"source {source!r}: pagination.type {self.kind!r} is not one of {PAGINATIONS}"
            )
        self.page_size = int(self.pagination.get("page_size", 100))
        watermark = spec.get("watermark") or {}
        self.watermark_field = watermark.get("field")
        self.watermark_param = watermark.get("param")
        self.resource = str(spec.get("resource") or self.path.strip("/").replace("/", "_"))
        identity = urlencode(sorted((k, str(v)) for k, v in self.params.items()))
        self.key = f"{source}/rest{self.path}" + (f"?{identity}" if identity else "")

    def first_request(self, watermark: Any) -> PageRequest:
        params = dict(self.params)
        limit_param = self.pagination.get("limit_param")
        if limit_param:
            params[limit_param] = self.page_size
        if self.kind == "offset":
            params[self.pagination.get("offset_param", "offset")] = 0
        if self.watermark_param and watermark is not None:
            params[self.watermark_param] = watermark
        return PageRequest.of(self.path, params)

    def records(self, body: Any) -> list[dict[str, Any]]:
        found = dig(body, self.record_path)
        if not isinstance(found, list):
            raise ConnectorError(
                f"{self.path}: no list of records at record_path {self.record_path!r}"
            )
        return found

    def next_request(
        self,
        request: PageRequest,
        response: httpx.Response,
        body: Any,
        records: list[dict[str, Any]],
    ) -> PageRequest | None:
        if self.kind == "cursor":
            token = dig(body, self.pagination.get("next_path", "next_cursor"))
            if not token or not records:
                return None
            return request.with_params(**{self.pagination.get("param", "cursor"): token})
        if self.kind == "offset":
            if len(records) < self.page_size:
                return None
            name = self.pagination.get("offset_param", "offset")
            offset = int(dict(request.params).get(name, 0)) + len(records)
            return request.with_params(**{name: offset})
        if self.kind == "link":
            following = response.links.get("next", {}).get("url")
            return PageRequest(following) if following else None
        return None

    def watermark_of(self, records: list[dict[str, Any]]) -> Any:
        if not self.watermark_field:
            return None
        values = [
            r[self.watermark_field] for r in records if r.get(self.watermark_field) is not None
        ]
        return max(values) if values else None


def auth_headers(source: str, auth: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict:
    """The auth header, its secret taken from the named environment variable."""
    if not auth:
        return {}
    env_name = auth.get("env")
    if not env_name:
        raise ConnectorError(f"source {source!r}: transport.auth.env must name a variable")
    secret = environ.get(env_name)
    if not secret:
        raise ConnectorError(f"source {source!r}: ${env_name} is not set")
    return {str(auth.get("header", "Authorization")): f"{auth.get('prefix', 'Bearer ')}{secret}"}


class RestConnector:
    """Syncs one configured REST endpoint into the raw archive."""

    def __init__(
        self,
        *,
        source: str,
        spec: Mapping[str, Any],
        archive: RawArchive,
        store: CursorStore,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        base_url = spec.get("base_url")
        if not base_url:
            raise ConnectorError(f"source {source!r}: transport.base_url is required")
        env = environ if environ is not None else os.environ
        headers = {"Accept": "application/json", **auth_headers(source, spec.get("auth"), env)}
        self.source = source
        self.stream = RestStream(source, spec)
        self.archive = archive
        self.store = store
        self.core = HttpCore(
            base_url,
            headers=headers,
            timeout=float(spec.get("timeout_seconds", 30.0)),
            backoff=Backoff.from_config(spec.get("retry")),
            sleep=sleep,
            rng=rng,
        )

    @classmethod
    def from_config(
        cls,
        source: str,
        transport: Mapping[str, Any],
        home: Path,
        *,
        environ: Mapping[str, str] | None = None,
        archive: RawArchive | None = None,
    ) -> RestConnector:
        return cls(
            source=source,
            spec=transport,
            archive=archive or RawArchive(home / "archive"),
            store=CursorStore(home / "state" / "connectors"),
            environ=environ,
        )

    def close(self) -> None:
        self.core.close()

    def sync(
        self,
        *,
        run_id: str,
        business_date: date,
        after_commit: Callable[[int, Any], None] | None = None,
    ) -> SyncResult:
        return sync_stream(
            self.core,
            self.stream,
            self.store,
            self.archive,
            source=self.source,
            run_id=run_id,
            business_date=business_date,
            after_commit=after_commit,
        )

    def sync_all(self, *, run_id: str, business_date: date) -> list[SyncResult]:
        return [self.sync(run_id=run_id, business_date=business_date)]

    def probe(self) -> str:
        """A digest of the first page past the watermark (the records, not the envelope)."""
        state = self.store.load(self.stream.key)
        request = self.stream.first_request(state.get("watermark"))
        records = self.stream.records(decode_page(self.core.get(request)))
        canonical = json.dumps(records, sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()
