"""Tier views cached per process by configuration: Django backends of one configuration share
a view, any other configuration gets its own, bad options fail every time, and the registry's
reset() starts over."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache import registry
from serverless_cache.django import ExecutionContextCache, LayeredCache, RedisCache
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.views import freeze
from tests.flask.backend import backend_of

URL = "redis://127.0.0.1:1/0"  # never connected: views are built without a connection


def django_redis(options: dict[str, Any], **params: Any) -> RedisCache:
    return RedisCache(URL, {"OPTIONS": options, **params})


def test_backends_of_one_configuration_share_one_view() -> None:
    options = {"SOCKET_TIMEOUT": 0.5}
    first, second = django_redis(options), django_redis(options)
    assert first.tier is second.tier
    assert django_redis(dict(options)).tier is first.tier  # equal settings, another dict
    assert ExecutionContextCache("a", {}).tier is ExecutionContextCache("a", {}).tier


@pytest.mark.parametrize(
    ("params", "other"),
    [
        ({"OPTIONS": {"SOCKET_TIMEOUT": 0.5}}, {"OPTIONS": {"SOCKET_TIMEOUT": 0.25}}),
        ({"OPTIONS": {}}, {"OPTIONS": {}, "KEY_PREFIX": "p"}),
        ({"OPTIONS": {"SIGNING_KEY": "a"}}, {"OPTIONS": {"SIGNING_KEY": "b"}}),
        ({"OPTIONS": {"CONNECT_TIMEOUT": 1}}, {"OPTIONS": {"CONNECT_TIMEOUT": 1.0}}),
    ],
)
def test_other_configurations_get_other_views(
    params: dict[str, Any], other: dict[str, Any]
) -> None:
    ours, theirs = RedisCache(URL, params), RedisCache(URL, other)
    assert ours.tier is not theirs.tier
    assert RedisCache(URL, params).tier is ours.tier
    assert ExecutionContextCache("one", {}).tier is not ExecutionContextCache("two", {}).tier


def test_a_bad_option_fails_every_time_even_beside_a_good_one() -> None:
    django_redis({"FAIL_OPEN": True})
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="FAIL_OPEN"):
            django_redis({"FAIL_OPEN": 1})  # equal to True, but not a bool
        with pytest.raises(ConfigurationError, match="SOCKET_TIMOUT"):
            django_redis({"SOCKET_TIMOUT": 1, "SOCKET_TIMOUT".replace("EO", "O"): 1})


def test_a_settings_dict_changed_in_place_gets_a_new_view() -> None:
    options: dict[str, Any] = {"SOCKET_TIMEOUT": 0.5}
    before = django_redis(options).tier
    options["SOCKET_TIMEOUT"] = 0.25
    after = django_redis(options).tier
    assert after is not before
    assert after.settings.socket_timeout == 0.25  # type: ignore[attr-defined]
    tiers: list[dict[str, Any]] = [{"TIER": "memory"}, {"TIER": "redis", "LOCATION": URL}]
    layered_options: dict[str, Any] = {"TIERS": tiers}
    layered = LayeredCache("l", {"OPTIONS": layered_options}).tier
    assert LayeredCache("l", {"OPTIONS": layered_options}).tier is layered
    tiers[0]["CAP"] = 1
    assert LayeredCache("l", {"OPTIONS": layered_options}).tier is not layered


def test_reset_and_restore_start_over() -> None:
    options = {"SOCKET_TIMEOUT": 0.5}
    before = django_redis(options).tier
    registry.reset()
    after_reset = django_redis(options).tier
    assert after_reset is not before
    registry.restore()
    assert django_redis(options).tier is not after_reset
    memory_view = ExecutionContextCache("m", {}).tier
    registry.discard("memory")  # a view holding a dropped store is not handed out again
    assert ExecutionContextCache("m", {}).tier is not memory_view


def test_flask_backends_keep_their_own_serializer() -> None:
    import json

    class Json:
        def dumps(self, value: Any) -> bytes:
            return json.dumps(value).encode()

        def loads(self, data: bytes) -> Any:
            return json.loads(data)

    config = {"CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache"}
    plain, custom = Cache(Flask("a"), config=config), Cache(Flask("b"), config=config)
    backend_of(custom).serializer = Json()
    assert backend_of(plain).serializer is None
    assert backend_of(plain).tier is not backend_of(custom).tier


def test_freeze_tells_numbers_and_bools_apart() -> None:
    assert freeze({"a": 1}) != freeze({"a": True}) != freeze({"a": 1.0})
    assert freeze({"A": [1]}) == freeze({"a": [1]})
