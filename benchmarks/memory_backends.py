"""The execution-context tier against Django's LocMemCache and cachelib's SimpleCache.

Every contender is called through its framework's public API (``caches[...]`` for Django,
``flask_caching.Cache`` for Flask), so key making and validation are included.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.harness import compare, relative, setup_django


def pair(
    name_a: str, a: Any, name_b: str, b: Any, method: str, *args: Any
) -> dict[str, Callable[[], object]]:
    """The same call on two caches, as contenders for :func:`compare`."""
    return {name_a: partial(getattr(a, method), *args), name_b: partial(getattr(b, method), *args)}


def django_caches() -> tuple[Any, Any]:

    setup_django()
    from django.core.cache import caches

    return caches["locmem"], caches["ours"]


def flask_caches() -> tuple[Any, Any]:
    from flask import Flask
    from flask_caching import Cache

    app = Flask("bench")
    simple = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    ours = Cache(app, config={"CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache"})
    app.app_context().push()
    return simple, ours


def main() -> None:
    locmem, ours = django_caches()
    small, record = "a short string value", {"id": 7, "name": "user", "roles": ["a", "b"]}
    for cache in (locmem, ours):
        cache.set("small", small)
        cache.set("record", record)
    compare(
        "Django get, hit, str value",
        pair("LocMemCache", locmem, "ExecutionContextCache", ours, "get", "small"),
        "LocMemCache",
    )
    compare(
        "Django get, hit, dict value (unpickled on both)",
        pair("LocMemCache", locmem, "ExecutionContextCache", ours, "get", "record"),
        "LocMemCache",
    )
    compare(
        "Django get, miss",
        pair("LocMemCache", locmem, "ExecutionContextCache", ours, "get", "nope"),
        "LocMemCache",
    )
    compare(
        "Django set, dict value",
        pair("LocMemCache", locmem, "ExecutionContextCache", ours, "set", "w", record),
        "LocMemCache",
    )

    simple, flask_ours = flask_caches()
    for cache in (simple, flask_ours):
        cache.set("small", small)
        cache.set("record", record)
    compare(
        "Flask-Caching get, hit, str value",
        pair("SimpleCache", simple, "ExecutionContextCache", flask_ours, "get", "small"),
        "SimpleCache",
    )
    compare(
        "Flask-Caching get, hit, dict value",
        pair("SimpleCache", simple, "ExecutionContextCache", flask_ours, "get", "record"),
        "SimpleCache",
    )
    sets = compare(
        "Flask-Caching set, dict value",
        pair("SimpleCache", simple, "ExecutionContextCache", flask_ours, "set", "w", record),
        "SimpleCache",
    )

    def set_and_delete(cache: Any) -> Callable[[], object]:
        return lambda: (cache.set("d", record), cache.delete("d"))

    both = compare(
        "Flask-Caching set then delete of that key, dict value",
        {name: set_and_delete(cache) for name, cache in flask_pair(simple, flask_ours).items()},
        "SimpleCache",
    )
    compare(
        "Flask-Caching delete, key absent",
        pair("SimpleCache", simple, "ExecutionContextCache", flask_ours, "delete", "nope"),
        "SimpleCache",
    )
    deletes = {name: both[name] - sets[name] for name in both}
    print(
        "\nFlask-Caching delete of a present key, (set then delete) - set: "
        + ", ".join(f"{name} {ns / 1000:.3f} us" for name, ns in deletes.items())
        + f" ({relative(deletes['ExecutionContextCache'], deletes['SimpleCache'])})"
    )


def flask_pair(simple: Any, ours: Any) -> dict[str, Any]:
    return {"SimpleCache": simple, "ExecutionContextCache": ours}


if __name__ == "__main__":
    main()
