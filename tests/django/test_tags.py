"""Tags through Django's cache API and the tagged ``cache_page``; the URLconf is this module."""

from __future__ import annotations

import asyncio

import pytest
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from serverless_cache.django import cache_page
from serverless_cache.errors import ConfigurationError

pytestmark = pytest.mark.urls(__name__)
renders: list[int] = []


def product(request: HttpRequest, pk: int) -> HttpResponse:
    renders.append(pk)
    return HttpResponse(f"product {pk}, render {len(renders)}")


urlpatterns = [path("product/<int:pk>/", cache_page(60, tags=["product"])(product))]


@pytest.fixture
def redis_cache(settings: SettingsWrapper, redis_url: str) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "serverless_cache.django.RedisCache", "LOCATION": redis_url}
    }
    renders.clear()


def test_the_cache_api_takes_tags(redis_cache: None) -> None:
    cache = caches["default"]
    cache.set("a", 1, tags=["t"])
    cache.set_many({"b": 2, "c": 3}, 60, tags=["t", "u"])
    assert cache.add("d", 4, tags=["u"]) is True
    assert cache.get_or_set("e", lambda: 5, 60, tags=["t"]) == 5
    assert cache.get_many(["a", "b", "c", "d", "e"]) == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    assert cache.invalidate_tags("t") is True
    assert cache.get_many(["a", "b", "c", "d", "e"]) == {"d": 4}


def test_the_async_api_takes_tags(redis_cache: None) -> None:
    cache = caches["default"]

    async def scenario() -> tuple[object, object]:
        await cache.aset("a", 1, tags=["t"])
        before = await cache.aget("a")
        assert await cache.ainvalidate_tags("t") is True
        return before, await cache.aget("a")

    assert asyncio.run(scenario()) == (1, None)


def test_memoize_with_tags(redis_cache: None) -> None:
    cache = caches["default"]
    calls: list[int] = []

    @cache.memoize(60, tags=["prices"])
    def price(pk: int) -> int:
        calls.append(pk)
        return pk * 10

    assert (price(1), price(1)) == (10, 10)
    cache.invalidate_tags("prices")
    assert price(1) == 10
    assert calls == [1, 1]


def test_a_tagged_page_is_rendered_again_after_its_tag_is_invalidated(redis_cache: None) -> None:
    client = Client()
    first = client.get("/product/1/").content
    assert client.get("/product/1/").content == first
    assert renders == [1]
    assert caches["default"].invalidate_tags("product") is True
    assert client.get("/product/1/").content == b"product 1, render 2"
    assert renders == [1, 1]


def test_a_tagged_page_needs_a_serverless_cache_backend(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(ConfigurationError, match=r"CACHES\['default'\] is LocMemCache"):
        Client().get("/product/1/")
