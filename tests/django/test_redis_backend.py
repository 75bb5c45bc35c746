"""serverless_cache.django.RedisCache: Django's cache API on real redis-server processes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from serverless_cache.django import RedisCache
from serverless_cache.errors import CacheUnavailableError
from tests.fixtures.lambda_events import LambdaContext
from tests.fixtures.redis_servers import RedisCluster, RedisServer
from tests.tiers.redis_helpers import client_connections


def redis_caches(location: str | list[str], **options: Any) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "serverless_cache.django.RedisCache", "LOCATION": location},
        "app1": {
            "BACKEND": "serverless_cache.django.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "app1",
            "OPTIONS": options,
        },
        "app2": {
            "BACKEND": "serverless_cache.django.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": "app2",
            "OPTIONS": options,
        },
    }


@pytest.fixture
def django_redis(redis_url: str) -> Iterator[RedisCache]:
    with override_settings(CACHES=redis_caches(redis_url)):
        yield caches["app1"]


def test_django_api(django_redis: RedisCache, redis_server: RedisServer) -> None:
    cache = django_redis
    plain = redis_server.client()
    cache.set("a", {"x": 1})
    assert plain.exists("app1:1:a") == 1
    assert cache.get("a") == {"x": 1}
    assert cache.get("missing", "default") == "default"
    assert cache.add("a", 2) is False
    assert cache.add("b", 2, timeout=10) is True
    assert cache.get_many(["a", "b", "c"]) == {"a": {"x": 1}, "b": 2}
    assert cache.set_many({"c": 3, "d": [4]}, timeout=30) == []
    assert cache.has_key("c") and not cache.has_key("zzz")
    assert cache.incr("c", 10) == 13 and cache.decr("c") == 12
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    assert cache.touch("c", None) and cache.ttl("c") is None
    assert cache.touch("missing") is False
    assert cache.delete("d") is True and cache.delete("d") is False
    cache.delete_many(["a", "b"])
    assert cache.get_many(["a", "b"]) == {}
    cache.set("gone", 1, timeout=0)
    assert cache.get("gone") is None
    cache.set("v", "two", version=2)
    assert cache.get("v") is None and cache.get("v", version=2) == "two"


def test_django_extras_apply_key_making(django_redis: RedisCache) -> None:
    cache = django_redis
    cache.set_many({"user:1": 1, "user:2": 2, "other": 3}, timeout=None)
    assert cache.ttl("user:1") is None
    assert cache.expire("user:1", 100) is True
    assert 99 < cache.ttl("user:1") <= 100  # type: ignore[operator]
    assert cache.persist("user:1") is True and cache.ttl("user:1") is None
    assert cache.ttl("absent") == 0.0
    assert sorted(cache.iter_keys("user:*")) == ["user:1", "user:2"]
    assert cache.delete_pattern("user:*") == 2
    assert cache.get("other") == 3
    with cache.lock("job", timeout=5):
        assert caches["app1"].lock("job", timeout=5, blocking_timeout=0.05).acquire() is False


def test_values_can_be_incremented_by_another_client(
    django_redis: RedisCache, redis_server: RedisServer
) -> None:
    django_redis.set("hits", 7)
    plain = redis_server.client()
    assert plain.incrby("app1:1:hits", 3) == 10
    assert django_redis.get("hits") == 10


def test_clear_with_prefix_leaves_other_prefixes(
    django_redis: RedisCache, redis_server: RedisServer
) -> None:
    other = caches["app2"]
    django_redis.set_many({f"k{i}": i for i in range(30)})
    other.set_many({f"k{i}": i for i in range(30)})
    redis_server.client().set("foreign", b"x")
    django_redis.clear()
    assert django_redis.get_many([f"k{i}" for i in range(30)]) == {}
    assert other.get_many([f"k{i}" for i in range(30)]) == {f"k{i}": i for i in range(30)}
    assert redis_server.client().get("foreign") == b"x"


def test_clear_without_prefix_flushes_the_database(
    redis_url: str, redis_server: RedisServer
) -> None:
    with override_settings(CACHES=redis_caches(redis_url)):
        caches["default"].set("k", 1)
        redis_server.client().set("foreign", b"x")
        caches["default"].clear()
    assert redis_server.client().dbsize() == 0


def test_async_api(django_redis: RedisCache) -> None:
    async def run() -> list[Any]:
        cache = django_redis
        await cache.aset("a", 1)
        await cache.aset_many({"b": 2})
        return [
            await cache.aget("a"),
            await cache.aget_many(["a", "b"]),
            await cache.aincr("a"),
            await cache.ahas_key("b"),
            await cache.adelete("b"),
        ]

    assert asyncio.run(run()) == [1, {"a": 1, "b": 2}, 2, True, True]


def test_one_connection_for_20_instances_in_20_threads(
    redis_url: str, redis_server: RedisServer
) -> None:
    """Django builds a backend per thread; all of them share one pool and, one at a time
    as on Lambda, one connection."""
    instances: list[RedisCache] = []

    def request(index: int) -> None:
        cache = caches["default"]
        instances.append(cache)
        for call in range(10):
            if call % 2:
                cache.set(f"t{index}:{call}", call)
            else:
                cache.get(f"t{index}:{call - 1}")
        cache.close()

    with override_settings(CACHES=redis_caches(redis_url)):
        for index in range(20):
            thread = threading.Thread(target=request, args=(index,))
            thread.start()
            thread.join()
    assert len({id(cache) for cache in instances}) == 20
    assert client_connections(redis_server.client()) == 1


def test_fail_open_through_django(closed_port: int) -> None:
    location = f"redis://127.0.0.1:{closed_port}"
    with override_settings(CACHES=redis_caches(location, breaker_threshold=1)):
        cache = caches["app1"]
        assert cache.get("k", "miss") == "miss"
        cache.set("k", 1)
        assert cache.set_many({"a": 1}) == ["a"]
        with pytest.raises(CacheUnavailableError, match="could not reach the store"):
            cache.incr("k")  # not "Key 'k' not found": the key may well exist
        assert cache.tier.stats.errors >= 4


def test_django_on_the_cluster(redis_cluster_urls: list[str], redis_cluster: RedisCluster) -> None:
    with override_settings(CACHES=redis_caches(redis_cluster_urls, cluster=True)):
        cache, other = caches["app1"], caches["app2"]
        data = {f"k{i}": i for i in range(50)}
        assert cache.set_many(data, timeout=60) == []
        other.set_many(data)
        assert cache.get_many(list(data)) == data
        assert cache.incr("k1") == 2
        cache.delete_many(["k2", "k3"])
        assert sorted(cache.iter_keys("k4*")) == ["k4", *(f"k4{i}" for i in range(10))]
        cache.clear()
        assert cache.get_many(list(data)) == {}
        assert other.get_many(list(data)) == data


def test_mangum_asgi_app_uses_one_connection_for_50_invocations(
    redis_url: str, redis_server: RedisServer
) -> None:
    from django.core.asgi import get_asgi_application
    from mangum import Mangum

    admin = redis_server.client()
    opened_before = int(admin.info("stats")["total_connections_received"])
    with override_settings(CACHES=redis_caches(redis_url), ROOT_URLCONF="tests.django.redis_urls"):
        handler = Mangum(get_asgi_application(), lifespan="off")
        counts = []
        for invocation in range(50):
            response = handler(_http_api_event("/visits/", invocation), LambdaContext())
            assert response["statusCode"] == 200, response
            counts.append(json.loads(response["body"])["count"])
    assert counts == list(range(1, 51))
    assert client_connections(admin) == 1
    opened = int(admin.info("stats")["total_connections_received"]) - opened_before
    assert opened == 1


def _http_api_event(path: str, invocation: int) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "example.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "example",
            "domainName": "example.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "example",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "tests",
            },
            "requestId": f"request-{invocation}",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }
