"""One uvicorn process serving a Django async view that makes six cache calls, for
``benchmarks.async_redis``: ``python -m benchmarks.asgi_app CONTENDER REDIS_URL HTTP_PORT``.

Contenders: ``ours`` (serverless_cache's RedisCache, native asyncio), ``ours-thread-hop``
(the same backend called through ``sync_to_async`` per call, as its async API did before),
``django`` (Django's RedisCache), ``django-redis``, and ``bare`` (``redis.asyncio`` called
directly with a blocking pool of 100 connections, pickling as a backend would): the floor.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

BACKENDS = {
    "ours": "serverless_cache.django.RedisCache",
    "ours-thread-hop": "serverless_cache.django.RedisCache",
    "django": "django.core.cache.backends.redis.RedisCache",
    "django-redis": "django_redis.cache.RedisCache",
    "bare": "django.core.cache.backends.dummy.DummyCache",
}
RECORD = {"id": 7, "name": "a user", "roles": ["reader", "writer"]}


class BareRedis:
    """The six calls on a ``redis.asyncio`` client of this (one) event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Any = None

    def _client(self) -> Any:
        if self.client is None:
            import redis.asyncio

            # Waits for a free connection beyond 100 (redis-py's default pool refuses).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=100, timeout=None
            )
            self.client = redis.asyncio.Redis(connection_pool=pool)
        return self.client

    async def aget(self, key: str) -> Any:
        raw = await self._client().get(key)
        return None if raw is None else pickle.loads(raw)

    async def aget_many(self, keys: list[str]) -> dict[str, Any]:
        raws = await self._client().mget(keys)
        return {key: pickle.loads(raw) for key, raw in zip(keys, raws, strict=True) if raw}

    async def aset(self, key: str, value: Any, timeout: int) -> None:
        await self._client().set(key, pickle.dumps(value), ex=timeout)


class ThreadHop:
    """A backend's sync methods, each called through ``sync_to_async`` (a worker thread)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    async def aget(self, key: str) -> Any:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.cache.get, thread_sensitive=False)(key)

    async def aget_many(self, keys: list[str]) -> dict[str, Any]:
        from asgiref.sync import sync_to_async

        found: dict[str, Any] = await sync_to_async(self.cache.get_many, thread_sensitive=False)(
            keys
        )
        return found

    async def aset(self, key: str, value: Any, timeout: int) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(self.cache.set, thread_sensitive=False)(key, value, timeout)


def application(contender: str, url: str) -> Any:
    import django
    from django.conf import settings
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    async def view(request: HttpRequest) -> JsonResponse:
        from django.core.cache import cache

        calls: Any = cache
        if contender == "bare":
            calls = bare
        elif contender == "ours-thread-hop":
            calls = ThreadHop(cache)
        user = await calls.aget("user")
        settings_ = await calls.aget("settings")
        missing = await calls.aget("missing")
        many = await calls.aget_many(["a", "b", "c"])
        await calls.aset("last-visit", {"user": user, "n": len(many)}, 60)
        last = await calls.aget("last-visit")
        response = JsonResponse({"ok": bool(user and settings_ and last) and missing is None})
        response["Content-Length"] = str(len(response.content))
        return response

    bare = BareRedis(url)
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        CACHES={"default": {"BACKEND": BACKENDS[contender], "LOCATION": url}},
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )
    django.setup()
    global urlpatterns
    urlpatterns = [path("v/", view)]
    seed(contender, url)
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def seed(contender: str, url: str) -> None:
    """The values the view reads, written with the contender's own key making and encoding."""
    values = {"user": RECORD, "settings": {"theme": "dark"}, "a": 1, "b": [2], "c": "three"}
    if contender == "bare":
        import redis

        redis.Redis.from_url(url).mset({k: pickle.dumps(v) for k, v in values.items()})
        return
    from django.core.cache import cache

    cache.set_many(values, 600)
    cache.close()


urlpatterns: list[Any] = []


def main(argv: list[str]) -> None:
    import uvicorn

    contender, url, port = argv
    app = application(contender, url)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
