"""serverless_cache.flask.RedisCache: Flask-Caching on a real redis-server."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache import registry
from serverless_cache.errors import ConfigurationError
from serverless_cache.flask import RedisCache
from tests.fixtures.redis_servers import RedisServer
from tests.flask.backend import backend_of


def make_cache(**config: Any) -> tuple[Flask, Cache]:
    app = Flask("tests")
    app.config.update({"CACHE_TYPE": "serverless_cache.flask.RedisCache", **config})
    return app, Cache(app)


def test_flask_api(redis_url: str, redis_server: RedisServer) -> None:
    app, cache = make_cache(CACHE_REDIS_URL=redis_url, CACHE_KEY_PREFIX="f:")
    with app.app_context():
        assert isinstance(cache.cache, RedisCache)
        assert cache.set("a", {"x": 1}) is True
        assert redis_server.client().exists("f:a") == 1
        assert cache.get("a") == {"x": 1}
        assert cache.get("missing") is None
        assert cache.add("a", 2) is False
        assert cache.set_many({"b": 1, "c": 2}, timeout=10) == ["b", "c"]
        assert cache.get_many("a", "b", "zz") == [{"x": 1}, 1, None]
        assert cache.get_dict("b", "c") == {"b": 1, "c": 2}
        backend = cache.cache
        assert backend.inc("counter") == 1 and backend.inc("counter", 5) == 6
        assert backend.dec("counter") == 5
        assert redis_server.client().incr("f:counter") == 6
        assert cache.get("counter") == 6
        assert cache.has("b") and not cache.has("zz")
        assert cache.delete("b") is True
        assert cache.delete_many("c", "a") == ["c", "a"]
        cache.set("forever", 1, timeout=0)
        assert redis_server.client().ttl("f:forever") == -1


def test_flask_clear_is_scoped_to_the_key_prefix(redis_url: str, redis_server: RedisServer) -> None:
    app, mine = make_cache(CACHE_REDIS_URL=redis_url, CACHE_KEY_PREFIX="mine:")
    other_app, theirs = make_cache(CACHE_REDIS_URL=redis_url, CACHE_KEY_PREFIX="theirs:")
    with app.app_context():
        mine.set("k", 1)
    with other_app.app_context():
        theirs.set("k", 2)
    with app.app_context():
        assert mine.clear() is True
        assert mine.get("k") is None
    with other_app.app_context():
        assert theirs.get("k") == 2
    assert len(registry.entries("redis")) == 1


def test_flask_host_port_config_and_options(redis_server: RedisServer, redis_url: str) -> None:
    app, cache = make_cache(
        CACHE_REDIS_HOST="127.0.0.1",
        CACHE_REDIS_PORT=redis_server.port,
        CACHE_REDIS_DB=2,
        CACHE_OPTIONS={"socket_timeout": 0.5, "serializer": "json"},
    )
    with app.app_context():
        cache.set("k", [1, 2])
        assert cache.get("k") == [1, 2]
    assert redis_server.client(db=2).exists(backend_of(cache).key_prefix + "k") == 1


def test_flask_unreachable_store_fails_open(closed_port: int) -> None:
    app, cache = make_cache(
        CACHE_REDIS_URL=f"redis://127.0.0.1:{closed_port}",
        CACHE_OPTIONS={"breaker_threshold": 1},
    )
    with app.app_context():
        assert cache.get("k") is None
        assert cache.set("k", 1) is False
        assert cache.cache.inc("k") is None
        assert cache.delete_many("k", "j") == []
        assert cache.delete("k") is False
        assert cache.has("k") is False


def test_flask_unknown_option_is_a_configuration_error(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="CACHE_OPTIONS"):
        make_cache(CACHE_REDIS_URL=redis_url, CACHE_OPTIONS={"sockettimeout": 1})
