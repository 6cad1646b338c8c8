"""Fixtures for connector tests: a fake Stripe account served over real local HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_harness import ApiServer, StripeData


@pytest.fixture
def stripe_data() -> StripeData:
    return StripeData()


@pytest.fixture
def stripe_server(stripe_data: StripeData) -> Iterator[ApiServer]:
    server = ApiServer(stripe_data.route)
    yield server
    server.close()
