"""Django's cache API, with Django's semantics, on every backend of this package.

The same tests run on each backend in BACKENDS: the adapter writes these rules once, and every
tier must keep them.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache, CacheKeyWarning
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings
from django.views.decorators.cache import cache_page

from tests.fixtures.dynamodb_servers import REGION, table_on

CacheFactory = Callable[..., BaseCache]

#: Backend name -> function of the pytest request giving the CACHES entry (servers via fixtures).
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], dict[str, Any]]] = {
    "memory": lambda request: {
        "BACKEND": "serverless_cache.django.ExecutionContextCache",
        "LOCATION": "django-api",
    },
    "layered": lambda request: {
        "BACKEND": "serverless_cache.django.LayeredCache",
        "LOCATION": "django-api-layered",
        "OPTIONS": {
            "TIERS": [
                {"TIER": "memory", "CAP": 60},
                {"TIER": "redis", "LOCATION": request.getfixturevalue("redis_url")},
            ]
        },
    },
    "redis": lambda request: {
        "BACKEND": "serverless_cache.django.RedisCache",
        "LOCATION": request.getfixturevalue("redis_url"),
    },
    "redis-cluster": lambda request: {
        "BACKEND": "serverless_cache.django.RedisCache",
        "LOCATION": request.getfixturevalue("redis_cluster_urls"),
        "OPTIONS": {"CLUSTER": True},
    },
    "memcached": lambda request: {
        "BACKEND": "serverless_cache.django.MemcachedCache",
        "LOCATION": request.getfixturevalue("memcached_url"),
    },
    "memcached-two-nodes": lambda request: {
        "BACKEND": "serverless_cache.django.MemcachedCache",
        "LOCATION": ",".join(request.getfixturevalue("memcached_nodes")),
    },
    "layered-memcached": lambda request: {
        "BACKEND": "serverless_cache.django.LayeredCache",
        "LOCATION": "django-api-layered-memcached",
        "OPTIONS": {
            "TIERS": [
                {"TIER": "memory", "CAP": 60},
                {"TIER": "memcached", "LOCATION": request.getfixturevalue("memcached_url")},
            ]
        },
    },
    "dynamodb-moto": lambda request: dynamodb_backend(request, "moto"),
    "dynamodb-dynalite": lambda request: dynamodb_backend(request, "dynalite"),
}


def dynamodb_backend(request: pytest.FixtureRequest, kind: str) -> dict[str, Any]:
    server, table = table_on(request, kind)
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": server.endpoint_url}
    return {
        "BACKEND": "serverless_cache.django.DynamoDBCache",
        "LOCATION": table,
        "OPTIONS": options,
    }


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    return BACKENDS[request.param](request)


@pytest.fixture
def make_cache(backend: dict[str, Any]) -> CacheFactory:
    def make(**params: Any) -> BaseCache:
        config = {**backend, **params}
        if "OPTIONS" in params:
            config["OPTIONS"] = {**backend.get("OPTIONS", {}), **params["OPTIONS"]}
        with override_settings(CACHES={"default": config}):
            return caches["default"]

    return make


@pytest.fixture
def cache(make_cache: CacheFactory) -> Iterator[BaseCache]:
    c = make_cache()
    c.clear()
    yield c
    c.clear()


def test_timeouts_none_zero_negative_and_default(make_cache: CacheFactory) -> None:
    cache = make_cache(TIMEOUT=60)
    cache.set("default", 1)
    cache.set("forever", 1, timeout=None)
    cache.set("zero", 1, timeout=0)
    cache.set("negative", 1, timeout=-1)
    assert cache.get_many(["default", "forever", "zero", "negative"]) == {
        "default": 1,
        "forever": 1,
    }
    assert not cache.add("forever", 2, timeout=0)
    assert cache.add("zero", 2, timeout=0)
    assert cache.get("zero") is None


def test_get_set_and_default(cache: BaseCache) -> None:
    assert cache.get("k") is None
    assert cache.get("k", "dflt") == "dflt"
    cache.set("k", {"a": 1})
    assert cache.get("k") == {"a": 1}


def test_stored_none_is_a_value(cache: BaseCache) -> None:
    cache.set("none", None)
    assert cache.get("none", "dflt") is None
    assert cache.has_key("none")
    assert cache.get_many(["none", "missing"]) == {"none": None}
    assert cache.get_or_set("none", "computed") is None


def test_add_touch_delete_return_booleans(cache: BaseCache) -> None:
    assert cache.add("k", 1) is True
    assert cache.add("k", 2) is False
    assert cache.get("k") == 1
    assert cache.touch("k", 10) is True
    assert cache.touch("missing", 10) is False
    assert cache.delete("k") is True
    assert cache.delete("k") is False


def test_default_timeout_none_means_forever(make_cache: CacheFactory) -> None:
    cache = make_cache(TIMEOUT=None)
    cache.set("k", 1)
    assert cache.tier.ttl(cache.make_key("k")) is None


def test_touch_with_zero_expires_now(cache: BaseCache) -> None:
    cache.set("k", 1)
    assert cache.touch("k", 0) is True
    assert cache.get("k") is None


def test_get_many_set_many_delete_many(cache: BaseCache) -> None:
    assert cache.set_many({"a": 1, "b": [2], 3: "three"}) == []
    assert cache.get_many(["a", "b", 3, "c"]) == {"a": 1, "b": [2], 3: "three"}
    cache.delete_many(["a", 3])
    assert cache.get_many(["a", "b", 3]) == {"b": [2]}


def test_incr_decr(cache: BaseCache) -> None:
    cache.set("n", 10)
    assert cache.incr("n") == 11
    assert cache.incr("n", 5) == 16
    assert cache.decr("n", 6) == 10
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    with pytest.raises(ValueError):
        cache.decr("missing")


def test_get_or_set(cache: BaseCache) -> None:
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    assert cache.get_or_set("k", lambda: "other") == "computed"
    assert cache.get_or_set("z", "plain", timeout=0) == "plain"


def test_versions(cache: BaseCache) -> None:
    cache.set("k", "v1", version=1)
    cache.set("k", "v2", version=2)
    assert cache.get("k", version=1) == "v1"
    assert cache.get("k", version=2) == "v2"
    assert cache.incr_version("k", version=2) == 3
    assert cache.get("k", version=2) is None
    assert cache.get("k", version=3) == "v2"
    assert cache.decr_version("k", version=3) == 2
    assert cache.get("k", version=2) == "v2"
    with pytest.raises(ValueError):
        cache.incr_version("missing")


def test_incr_version_keeps_a_stored_none(cache: BaseCache) -> None:
    cache.set("n", None)
    assert cache.incr_version("n") == 2
    assert cache.has_key("n", version=2)
    assert cache.get("n", "dflt", version=2) is None


def test_version_setting_and_key_prefix_isolate_entries(make_cache: CacheFactory) -> None:
    a = make_cache(KEY_PREFIX="a", VERSION=3)
    b = make_cache(KEY_PREFIX="b")
    a.set("k", "from a")
    assert b.get("k") is None
    assert a.get("k") == "from a"
    assert a.make_key("k") == "a:3:k"
    assert a.get("k", version=3) == "from a"


def test_key_function(make_cache: CacheFactory) -> None:
    c = make_cache(KEY_FUNCTION=lambda key, prefix, version: f"custom-{key}")
    c.set("k", 1)
    assert c.tier.get("custom-k") == 1


def test_key_warnings_match_django(make_cache: CacheFactory) -> None:
    cache = make_cache()
    with pytest.warns(CacheKeyWarning, match="characters that will cause errors"):
        cache.set("has space", 1)
    with pytest.warns(CacheKeyWarning, match="longer than 250"):
        cache.get("x" * 300)
    with pytest.warns(CacheKeyWarning):
        cache.get("ctrl\x01char")


def test_non_ascii_keys_do_not_warn(
    make_cache: CacheFactory, recwarn: pytest.WarningsRecorder
) -> None:
    cache = make_cache()
    cache.set("clé-ünïcode", 1)
    cache.set("line\u2028sep", 2)
    assert cache.get("clé-ünïcode") == 1
    assert not [w for w in recwarn if issubclass(w.category, CacheKeyWarning)]


def test_unpicklable_value_raises_the_pickling_error(cache: BaseCache) -> None:
    with pytest.raises((pickle.PicklingError, TypeError)):
        cache.set("lock", threading.Lock())
    with pytest.raises((pickle.PicklingError, TypeError)):
        cache.set_many({"ok": 1, "lock": threading.Lock()})
    assert cache.get("ok") is None


def test_mutation_isolation(cache: BaseCache) -> None:
    value = [1, 2]
    cache.set("k", value)
    value.append(3)
    cache.get("k").append(4)
    assert cache.get("k") == [1, 2]


def test_clear(cache: BaseCache) -> None:
    cache.set_many({"a": 1, "b": 2})
    cache.clear()
    assert cache.get_many(["a", "b"]) == {}


def test_close_keeps_entries(cache: BaseCache) -> None:
    cache.set("k", 1)
    cache.close()
    assert cache.get("k") == 1


def test_async_api(cache: BaseCache) -> None:
    async def scenario() -> None:
        assert await cache.aadd("k", 1) is True
        assert await cache.aget("k") == 1
        await cache.aset("s", "v")
        assert await cache.aget_many(["k", "s"]) == {"k": 1, "s": "v"}
        assert await cache.aincr("k", 2) == 3
        assert await cache.adecr("k") == 2
        assert await cache.ahas_key("s")
        assert await cache.atouch("s", 10)
        assert await cache.aset_many({"x": 1}) == []
        assert await cache.aget_or_set("y", "made") == "made"
        assert await cache.aincr_version("y") == 2
        await cache.adelete_many(["x"])
        assert await cache.adelete("s") is True
        await cache.aclear()
        assert await cache.aget("k") is None
        await cache.aclose()

    asyncio.run(scenario())


def test_cache_page_serves_the_second_request_from_the_cache(backend: dict[str, Any]) -> None:
    calls: list[int] = []

    @cache_page(60)
    def view(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse(f"rendered {len(calls)}")

    with override_settings(CACHES={"default": backend}):
        first = view(RequestFactory().get("/page"))
        second = view(RequestFactory().get("/page"))
    assert first.content == second.content == b"rendered 1"
    assert calls == [1]


def test_cache_middleware_caches_whole_responses(backend: dict[str, Any]) -> None:
    from django.middleware.cache import FetchFromCacheMiddleware, UpdateCacheMiddleware

    calls: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse("body")

    with override_settings(CACHES={"default": backend}, CACHE_MIDDLEWARE_SECONDS=30):

        def handle(request: HttpRequest) -> HttpResponse:
            return UpdateCacheMiddleware(FetchFromCacheMiddleware(view))(request)

        handle(RequestFactory().get("/m"))
        response = handle(RequestFactory().get("/m"))
    assert response.content == b"body"
    assert calls == [1]
    assert "max-age=30" in response["Cache-Control"]


def test_batch_calls_validate_every_key(make_cache: CacheFactory) -> None:
    cache = make_cache()
    calls: tuple[Callable[[], object], ...] = (
        lambda: cache.get_many(["fine", "has space"]),
        lambda: cache.set_many({"fine": 1, "x" * 300: 2}),
        lambda: cache.delete_many(["fine", "ctrl\x01char"]),
    )
    for call in calls:
        with pytest.warns(CacheKeyWarning):
            call()


def test_batch_calls_use_the_version_and_key_function(make_cache: CacheFactory) -> None:
    cache = make_cache(VERSION=4, KEY_PREFIX="p")
    cache.set_many({"a": 1, 2: "two"}, version=7)
    assert cache.get("a", version=7) == 1 and cache.get(2, version=7) == "two"
    assert cache.get_many(["a", 2]) == {}
    assert cache.get_many(["a", 2], version=7) == {"a": 1, 2: "two"}
    cache.delete_many(["a"], version=7)
    assert cache.get_many(["a", 2], version=7) == {2: "two"}
    custom = make_cache(KEY_FUNCTION=lambda key, prefix, version: f"custom-{key}")
    custom.set_many({"k": 1})
    assert custom.get_many(["k"]) == {"k": 1} and custom.tier.get("custom-k") == 1
