"""Flask-Caching (cachelib semantics) on the DynamoDB tier (moto and dynalite)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache.flask import DynamoDBCache
from serverless_cache.tiers.dynamodb import DynamoDBTier
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB
from tests.flask.backend import backend_of


def make_cache(server: LocalDynamoDB, table: str, prefix: str) -> Any:
    app = Flask(__name__)
    options = {"table_name": table, "region_name": REGION, "endpoint_url": server.endpoint_url}
    app.config.update(
        CACHE_TYPE="serverless_cache.flask.DynamoDBCache",
        CACHE_KEY_PREFIX=prefix,
        CACHE_OPTIONS=options,
    )
    return Cache(app)


@pytest.fixture
def cache(dynamodb_server: LocalDynamoDB, dynamodb_table: str) -> Any:
    return make_cache(dynamodb_server, dynamodb_table, "flask_")


def test_backend(cache: Any, dynamodb_table: str) -> None:
    backend = cache.cache
    assert isinstance(backend, DynamoDBCache) and isinstance(backend.tier, DynamoDBTier)
    assert backend.tier.table == dynamodb_table and backend.tier.key_prefix == "flask_"


def test_cachelib_api(cache: Any) -> None:
    assert cache.set("a", [1, 2]) is True
    assert cache.get("a") == [1, 2]
    assert cache.get("absent") is None
    assert cache.add("a", "no") is False
    backend = cache.cache
    assert backend.inc("counter") == 1 and backend.inc("counter", 5) == 6
    assert backend.dec("counter", 2) == 4
    cache.set("text", "abc")
    assert backend.inc("text") is None
    assert cache.get_many("a", "absent") == [[1, 2], None]
    assert cache.set_many({"x": 1, "y": 2}, timeout=0) == ["x", "y"]
    assert cache.has("x")
    assert cache.delete_many("x", "y", "x") == ["x", "y", "x"]
    assert not cache.has("x")
    assert cache.delete("a") is True


def test_memoize(cache: Any) -> None:
    calls: list[int] = []

    @cache.memoize(60)
    def square(n: int) -> int:
        calls.append(n)
        return n * n

    assert square(4) == 16 and square(4) == 16 and calls == [4]


def test_clear_keeps_other_prefix(
    cache: Any, dynamodb_server: LocalDynamoDB, dynamodb_table: str
) -> None:
    other = make_cache(dynamodb_server, dynamodb_table, "other_")
    cache.set("k", 1)
    other.set("k", 2)
    assert cache.clear() is True
    assert cache.get("k") is None and other.get("k") == 2


def test_key_prefix_argument_is_what_clear_uses(
    dynamodb_server: LocalDynamoDB, dynamodb_table: str
) -> None:
    app = Flask(__name__)
    options = {"table_name": dynamodb_table, "endpoint_url": dynamodb_server.endpoint_url}
    app.config.update(
        CACHE_TYPE="serverless_cache.flask.DynamoDBCache",
        CACHE_KEY_PREFIX="config_",
        CACHE_OPTIONS={**options, "key_prefix": "kwarg_"},
    )
    backend = backend_of(Cache(app))
    assert backend.key_prefix == "kwarg_" and backend.tier.key_prefix == "kwarg_"
