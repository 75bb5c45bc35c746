"""Flask-facing defects the tier contract v2 fixed."""

from __future__ import annotations

import pickle
from typing import Any, cast

from cachelib.serializers import BaseSerializer
from flask import Flask
from flask_caching import Cache

from serverless_cache.flask.base import TierCache


class Marked(BaseSerializer):
    """A cachelib serializer that leaves a mark, so a test can see it was used."""

    def dumps(self, value: Any, protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
        return b"marked:" + repr(value).encode()

    def loads(self, data: bytes) -> Any:
        assert data.startswith(b"marked:")
        return "loaded " + data[len(b"marked:") :].decode()


def backend(**config: Any) -> tuple[Flask, TierCache]:
    app = Flask(__name__)
    app.config.update(config)
    cache = Cache(app)
    with app.app_context():
        return app, cast(TierCache, cache.cache)


def test_cache_options_are_case_insensitive_like_everywhere_else() -> None:
    _, upper = backend(
        CACHE_TYPE="serverless_cache.flask.ExecutionContextCache",
        CACHE_OPTIONS={"NAME": "flask-upper", "MAX_ENTRIES": 7},
    )  # was: "unknown option 'NAME'"
    assert upper.tier.name == "flask-upper"
    assert upper.tier.limits.max_entries == 7  # type: ignore[attr-defined]


def test_cache_serializer_is_honoured() -> None:
    _, cache = backend(
        CACHE_TYPE="serverless_cache.flask.ExecutionContextCache",
        CACHE_OPTIONS={"NAME": "flask-serialized"},
        CACHE_SERIALIZER=Marked,
    )
    assert isinstance(cache.serializer, Marked)
    cache.set("k", ["a", 1])
    assert cache.get("k") == "loaded ['a', 1]"  # was: pickled, the serializer ignored
    cache.serializer = None
    cache.set("k", ["a", 1])
    assert cache.get("k") == ["a", 1]


def test_the_in_process_backend_takes_name_and_location_together() -> None:
    _, cache = backend(
        CACHE_TYPE="serverless_cache.flask.ExecutionContextCache",
        CACHE_OPTIONS={"name": "flask-named", "location": "flask-named"},
    )  # was: "unknown option 'location'"
    assert cache.tier.name == "flask-named"


def test_memoize_on_the_backend_computes_once_at_a_time() -> None:
    import threading
    import time

    _, cache = backend(
        CACHE_TYPE="serverless_cache.flask.ExecutionContextCache",
        CACHE_OPTIONS={"name": "flask-memoize"},
        CACHE_KEY_PREFIX="p_",
    )
    calls: list[int] = []

    @cache.memoize(60)
    def square(x: int) -> int:
        calls.append(x)
        time.sleep(0.2)  # long enough for the other threads to arrive while it computes
        return x * x

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(square(4))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [16] * 5
    assert calls == [4]  # Flask-Caching's own memoize would compute it five times
    assert any(key.startswith("p_memoize:") for key in cache.tier.store.data)  # type: ignore[attr-defined]
