"""Stripe: balance transactions, payouts, charges and refunds as raw list pages.

Stripe lists are newest first, paginated with ``starting_after=<last id>`` while ``has_more``
is true, at most 100 objects a page. Amounts are integers in the currency's minor unit (cents;
yen for zero-decimal currencies) and stay that way: a non-integer amount is a wire-format
error, not something to round. Incremental passes filter on ``created[gte]`` from the last
committed watermark; the boundary second is read again rather than risk missing an object
created in it, so downstream code deduplicates by Stripe id (it must anyway: one balance
transaction appears both in the full list and in its payout's list).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
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
    sync_stream,
)
from finance_pipeline.connectors.state import CursorStore

STRIPE_API = "https://api.stripe.com"
LISTS = {
    "balance_transactions": "/v1/balance_transactions",
    "payouts": "/v1/payouts",
    "charges": "/v1/charges",
    "refunds": "/v1/refunds",
}
AMOUNT_FIELDS = ("amount", "fee", "net", "amount_refunded", "amount_captured")


def minor_units(obj: Mapping[str, Any], field: str = "amount") -> tuple[int, str]:
    """``(amount in minor units, ISO currency)`` of a Stripe object, refusing non-integers."""
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConnectorError(f"stripe {obj.get('id')}: {field}={value!r} is not minor units")
    return value, str(obj.get("currency", "")).upper()


class StripeList(PageStream):
    """One Stripe list endpoint with fixed filters."""

    def __init__(
        self,
        source: str,
        resource: str,
        *,
        filters: Mapping[str, str] | None = None,
        page_size: int = 100,
        incremental: bool = True,
    ) -> None:
        if resource not in LISTS:
            raise ConnectorError(f"stripe: unknown list {resource!r}; known: {sorted(LISTS)}")
        self.resource = resource
        self.path = LISTS[resource]
        self.filters = {k: str(v) for k, v in sorted((filters or {}).items()) if v is not None}
        self.page_size = max(1, min(int(page_size), 100))
        self.incremental = incremental
        suffix = f"?{urlencode(self.filters)}" if self.filters else ""
        self.key = f"{source}/stripe/{resource}{suffix}"

    def first_request(self, watermark: Any) -> PageRequest:
        params: dict[str, Any] = {"limit": self.page_size, **self.filters}
        if self.incremental and watermark is not None:
            params["created[gte]"] = int(watermark)
        return PageRequest.of(self.path, params)

    def records(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or body.get("object") != "list":
            raise ConnectorError(f"stripe {self.path}: expected a list object")
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(o, dict) and "id" in o for o in data):
            raise ConnectorError(f"stripe {self.path}: 'data' must be a list of objects with ids")
        for obj in data:
            for name in AMOUNT_FIELDS:
                if name in obj and obj[name] is not None:
                    minor_units(obj, name)
        return data

    def next_request(
        self,
        request: PageRequest,
        response: httpx.Response,
        body: Any,
        records: list[dict[str, Any]],
    ) -> PageRequest | None:
        if not body.get("has_more") or not records:
            return None
        return request.with_params(starting_after=records[-1]["id"])

    def watermark_of(self, records: list[dict[str, Any]]) -> Any:
        if not self.incremental:
            return None
        created = [r["created"] for r in records if isinstance(r.get("created"), int)]
        return max(created) if created else None


class StripeConnector:
    """Syncs Stripe lists into the raw archive, resuming from committed cursors."""

    def __init__(
        self,
        *,
        source: str,
        api_key: str,
        archive: RawArchive,
        store: CursorStore,
        base_url: str = STRIPE_API,
        stripe_version: str | None = None,
        resources: Iterable[str] = tuple(LISTS),
        balance_transaction_types: Iterable[str] = (),
        page_size: int = 100,
        backoff: Backoff | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        if stripe_version:
            headers["Stripe-Version"] = stripe_version
        self.source = source
        self.archive = archive
        self.store = store
        self.resources = tuple(resources)
        self.balance_transaction_types = tuple(balance_transaction_types)
        self.page_size = page_size
        self.core = HttpCore(
            base_url, headers=headers, timeout=timeout, backoff=backoff, sleep=sleep, rng=rng
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
    ) -> StripeConnector:
        env_name = transport.get("api_key_env", "STRIPE_API_KEY")
        api_key = (environ if environ is not None else os.environ).get(env_name)
        if not api_key:
            raise ConnectorError(f"source {source!r}: ${env_name} is not set")
        return cls(
            source=source,
            api_key=api_key,
            archive=archive or RawArchive(home / "archive"),
            store=CursorStore(home / "state" / "connectors"),
            base_url=transport.get("base_url", STRIPE_API),
            stripe_version=transport.get("stripe_version"),
            resources=transport.get("resources", tuple(LISTS)),
            balance_transaction_types=transport.get("balance_transaction_types", ()),
            page_size=int(transport.get("page_size", 100)),
            backoff=Backoff.from_config(transport.get("retry")),
            timeout=float(transport.get("timeout_seconds", 30.0)),
        )

    def close(self) -> None:
        self.core.close()

    def sync(
        self,
        resource: str,
        *,
        run_id: str,
        business_date: date,
        filters: Mapping[str, str] | None = None,
        incremental: bool = True,
        after_commit: Callable[[int, Any], None] | None = None,
    ) -> SyncResult:
        stream = StripeList(
            self.source,
            resource,
            filters=filters,
            page_size=self.page_size,
            incremental=incremental,
        )
        return sync_stream(
            self.core,
            stream,
            self.store,
            self.archive,
            source=self.source,
            run_id=run_id,
            business_date=business_date,
            after_commit=after_commit,
        )

    def balance_transactions(
        self,
        *,
        run_id: str,
        business_date: date,
        payout: str | None = None,
        type: str | None = None,  # noqa: A002 - Stripe's own parameter name
        after_commit: Callable[[int, Any], None] | None = None,
    ) -> SyncResult:
        """Balance transactions, optionally of one payout (a closed set: read in full)."""
        return self.sync(
            "balance_transactions",
            run_id=run_id,
            business_date=business_date,
            filters={"payout": payout, "type": type},
            incremental=payout is None,
            after_commit=after_commit,
        )

    def payouts(self, *, run_id: str, business_date: date) -> SyncResult:
        return self.sync("payouts", run_id=run_id, business_date=business_date)

    def charges(self, *, run_id: str, business_date: date) -> SyncResult:
        return self.sync("charges", run_id=run_id, business_date=business_date)

    def refunds(self, *, run_id: str, business_date: date) -> SyncResult:
        return self.sync("refunds", run_id=run_id, business_date=business_date)

    def sync_all(self, *, run_id: str, business_date: date) -> list[SyncResult]:
        """Every configured list; balance transactions per configured ``type`` if any."""
        results = []
        for resource in self.resources:
            if resource == "balance_transactions" and self.balance_transaction_types:
                for kind in self.balance_transaction_types:
                    results.append(
                        self.balance_transactions(
                            run_id=run_id, business_date=business_date, type=kind
                        )
                    )
            else:
                results.append(self.sync(resource, run_id=run_id, business_date=business_date))
        return results

    def probe(self) -> str:
        """The newest object id of each list: changes exactly when something new exists."""
        heads = []
        for resource in self.resources:
            response = self.core.get(PageRequest.of(LISTS[resource], {"limit": 1}))
            data = decode_page(response).get("data") or [{}]
            heads.append(f"{resource}={data[0].get('id', '')}")
        return ";".join(heads)
