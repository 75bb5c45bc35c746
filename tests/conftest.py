"""Shared test fixtures; service fixtures live in tests/fixtures/ and are loaded here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from serverless_cache import clock, registry

pytest_plugins = [
    "tests.fixtures.redis_servers",
    "tests.fixtures.dynamodb_servers",
    "tests.fixtures.moto_server",
    "tests.fixtures.fault_proxy",
    "tests.fixtures.memcached_servers",
    "tests.fixtures.instances",
]


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test starts with empty stores, no pools or clients, zeroed counters, the real
    clock."""
    registry.reset()
    clock.reset()
    yield
    registry.reset()
    clock.reset()
