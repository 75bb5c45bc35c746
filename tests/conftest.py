"""Shared test fixtures; service fixtures live in tests/fixtures/ and are loaded here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from serverless_cache import metrics, registry

pytest_plugins = [
    "tests.fixtures.redis_servers",
    "tests.fixtures.dynamodb_servers",
    "tests.fixtures.moto_server",
]


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test starts with no stores, pools or clients, and zeroed counters."""
    registry.discard()
    metrics.reset()
    yield
    registry.discard()
