"""Django's cache API on the execution-context tier, through django.core.cache.caches."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache, CacheKeyWarning
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings
from django.views.decorators.cache import cache_page

BACKEND = "serverless_cache.django.ExecutionContextCache"


def make_cache(**params: Any) -> BaseCache:
    config = {"BACKEND": BACKEND, "LOCATION": "django-tests", **params}
    with override_settings(CACHES={"default": config}):
        return caches["default"]


@pytest.fixture
def cache() -> Iterator[BaseCache]:
    c = make_cache()
    yield c
    c.clear()


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


def test_timeouts_none_zero_negative_and_default() -> None:
    cache = make_cache(TIMEOUT=1)
    cache.set("default", 1)
    cache.set("forever", 1, timeout=None)
    cache.set("zero", 1, timeout=0)
    cache.set("negative", 1, timeout=-1)
    assert cache.get_many(["default", "forever", "zero", "negative"]) == {
        "default": 1,
        "forever": 1,
    }
    assert not cache.add("forever", 2, timeout=0)
    cache.set("short", 1, timeout=0.05)
    time.sleep(0.06)
    assert cache.get("short") is None


def test_default_timeout_none_means_forever() -> None:
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


def test_set_many_returns_the_keys_that_failed() -> None:
    cache = make_cache(OPTIONS={"MAX_BYTES": 2_000})
    assert cache.set_many({"small": 1, "huge": b"x" * 5_000}) == ["huge"]
    assert cache.get("small") == 1


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


def test_version_setting_and_key_prefix_isolate_entries() -> None:
    a = make_cache(KEY_PREFIX="a", VERSION=3)
    b = make_cache(KEY_PREFIX="b")
    a.set("k", "from a")
    assert b.get("k") is None
    assert a.get("k") == "from a"
    assert a.make_key("k") == "a:3:k"
    assert a.get("k", version=3) == "from a"


def test_key_function(cache: BaseCache) -> None:
    c = make_cache(KEY_FUNCTION=lambda key, prefix, version: f"custom-{key}")
    c.set("k", 1)
    assert c.tier.get("custom-k") == 1


def test_key_warnings_match_django() -> None:
    cache = make_cache()
    with pytest.warns(CacheKeyWarning, match="characters that will cause errors"):
        cache.set("has space", 1)
    with pytest.warns(CacheKeyWarning, match="longer than 250"):
        cache.get("x" * 300)
    with pytest.warns(CacheKeyWarning):
        cache.get("ctrl\x01char")


def test_non_ascii_keys_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
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


def test_max_entries_and_cull_frequency() -> None:
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 9, "CULL_FREQUENCY": 3})
    for i in range(9):
        cache.set(i, i)
    cache.set("new", 1)
    assert len(cache.get_many(range(9))) == 6
    assert cache.get("new") == 1


def test_unknown_option_is_a_clear_error() -> None:
    from serverless_cache.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="MAX_BYTE"):
        make_cache(OPTIONS={"MAX_BYTE": 10})


def test_clear(cache: BaseCache) -> None:
    cache.set_many({"a": 1, "b": 2})
    cache.clear()
    assert cache.get_many(["a", "b"]) == {}


def test_close_keeps_entries(cache: BaseCache) -> None:
    cache.set("k", 1)
    cache.close()
    assert cache.get("k") == 1


def test_signed_codec_rejects_a_tampered_value() -> None:
    cache = make_cache(OPTIONS={"SIGNING_KEY": "s3cret"})
    cache.set("k", ["payload"])
    store = cache.tier.store
    final = cache.make_key("k")
    entry = store.data[final]
    store.data[final] = entry._replace(value=entry.value.replace(b"payload", b"PAYLOAD"))
    assert cache.get("k", "miss") == "miss"


def test_instances_in_two_threads_share_entries() -> None:
    config = {"default": {"BACKEND": BACKEND, "LOCATION": "threads"}}
    seen: dict[str, Any] = {}
    instances: list[BaseCache] = []

    def writer() -> None:
        with override_settings(CACHES=config):
            instances.append(caches["default"])
            caches["default"].set("k", "written in a thread")

    def reader() -> None:
        with override_settings(CACHES=config):
            instances.append(caches["default"])
            seen["value"] = caches["default"].get("k")

    for target in (writer, reader):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert instances[0] is not instances[1]
    assert seen["value"] == "written in a thread"


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


@override_settings(ROOT_URLCONF="tests.django_urls")
def test_cache_page_serves_the_second_request_from_the_cache() -> None:
    calls: list[int] = []

    @cache_page(60)
    def view(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse(f"rendered {len(calls)}")

    with override_settings(CACHES={"default": {"BACKEND": BACKEND, "LOCATION": "pages"}}):
        first = view(RequestFactory().get("/page"))
        second = view(RequestFactory().get("/page"))
    assert first.content == second.content == b"rendered 1"
    assert calls == [1]


def test_cache_middleware_caches_whole_responses() -> None:
    from django.middleware.cache import FetchFromCacheMiddleware, UpdateCacheMiddleware

    calls: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return HttpResponse("body")

    caches_setting = {"default": {"BACKEND": BACKEND, "LOCATION": "middleware"}}
    with override_settings(CACHES=caches_setting, CACHE_MIDDLEWARE_SECONDS=30):

        def handle(request: HttpRequest) -> HttpResponse:
            return UpdateCacheMiddleware(FetchFromCacheMiddleware(view))(request)

        handle(RequestFactory().get("/m"))
        response = handle(RequestFactory().get("/m"))
    assert response.content == b"body"
    assert calls == [1]
    assert "max-age=30" in response["Cache-Control"]
