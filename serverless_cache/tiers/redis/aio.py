"""The Redis tier in asyncio: ``redis.asyncio`` clients, one set per event loop.

A connection belongs to the event loop that opened it, and Mangum may run each invocation in
a new loop (``asyncio.run()``), so each loop gets its own clients on its first call. They are
closed when the loop shuts down: ``asyncio.run()`` closes the asynchronous generators before
the loop, and one of them holds each loop's clients (a loop closed without that is swept when
the next loop starts). Calls run under the view's :class:`~serverless_cache.resilience.Guard`
with the sync path's fail-open, breaker and retry rules, and apply the Tier contract's rules
as ``Tier.get/get_many/set_many/remove/touch`` do. Standalone Redis only: a cluster and IAM
connections keep the worker-thread path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from serverless_cache import registry
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.resilience import SAME, UNREACHABLE
from serverless_cache.resilience_async import guarded
from serverless_cache.tiers.rules import MISSING, check_delta, expiry

if TYPE_CHECKING:
    from serverless_cache.tiers.redis.tier import RedisTier
    from serverless_cache.tiers.redis.topology import RedisClient

T = TypeVar("T")
Loop = asyncio.AbstractEventLoop
#: Connections per loop without MAX_CONNECTIONS: as many as the worker threads of the thread
#: path (asyncio's default executor), so going native opens no more connections than it did.
DEFAULT_CONNECTIONS = min(32, (os.cpu_count() or 1) + 4)


class LoopClients:
    """The ``redis.asyncio`` clients of one configuration on one event loop."""

    def __init__(self, loop: Loop, primary: Any, replicas: list[Any], limit: int) -> None:
        self.loop = loop
        self.primary = primary
        self.replicas = replicas
        #: Calls in flight at most, so at most ``limit`` connections per client: a FIFO
        #: semaphore wakes one waiter per release (redis-py's blocking pool wakes them all).
        self.slots = asyncio.Semaphore(limit)

    def reader(self) -> Any:
        import random

        return random.choice(self.replicas) if self.replicas else self.primary

    async def aclose(self) -> None:
        for client in (self.primary, *self.replicas):
            await client.aclose(close_connection_pool=True)

    def abandon(self) -> None:
        """The loop closed without closing them, and cannot run their close any more: end
        each connection at the socket (the server frees it now, the descriptor goes with
        the objects)."""
        for client in (self.primary, *self.replicas):
            pool = client.connection_pool
            connections = [
                *getattr(pool, "_available_connections", ()),
                *getattr(pool, "_in_use_connections", ()),
            ]
            for connection in connections:
                writer = getattr(connection, "_writer", None)
                sock = writer.get_extra_info("socket") if writer is not None else None
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)


class AsyncClients:
    """Process-wide, one per Redis configuration (a registry entry): the clients of each live
    event loop, released when their loop shuts down."""

    def __init__(self, sync_client: RedisClient) -> None:
        self.sync_client = sync_client
        self.lock = threading.Lock()
        self.by_loop: dict[Loop, LoopClients] = {}
        #: The generators that close each loop's clients (a loop keeps only weak references).
        self.closers: dict[Loop, Any] = {}
        self._last: LoopClients | None = None

    def current(self) -> LoopClients:
        """The clients of the running loop, created on its first call."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last.loop is loop:
            return last
        with self.lock:
            clients = self.by_loop.get(loop)
            if clients is None:
                self._sweep()
                clients = self.by_loop[loop] = self._connect(loop)
                self._close_at_shutdown(loop, clients)
            self._last = clients
        return clients

    def _connect(self, loop: Loop) -> LoopClients:
        from redis.asyncio import ConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        limit = self.sync_client.settings.max_connections or DEFAULT_CONNECTIONS

        def client(url: str) -> Redis:
            kwargs = self.sync_client._common_kwargs(url)
            kwargs["retry"] = Retry(NoBackoff(), 0)  # retries are the guard's decision
            kwargs["max_connections"] = limit
            return Redis(connection_pool=ConnectionPool.from_url(url, **kwargs))

        urls = self.sync_client.urls
        return LoopClients(loop, client(urls[0]), [client(url) for url in urls[1:]], limit)

    def _close_at_shutdown(self, loop: Loop, clients: LoopClients) -> None:
        closer = self._closer(loop, clients)
        self.closers[loop] = closer
        # Run it to its yield now: the loop's hook registers it, and shutdown_asyncgens()
        # will close it (and so the clients) before the loop closes.
        first_step: Any = closer.__anext__()
        with contextlib.suppress(StopIteration):
            first_step.send(None)

    async def _closer(self, loop: Loop, clients: LoopClients) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self._forget(clients)
            if not loop.is_closed():
                await clients.aclose()

    def _forget(self, clients: LoopClients) -> None:
        """Drop ``clients`` (and not newer clients of the same loop, after a reset)."""
        loop = clients.loop
        if self.by_loop.get(loop) is clients:
            del self.by_loop[loop]
            self.closers.pop(loop, None)
        if self._last is clients:
            self._last = None

    def _sweep(self) -> None:
        """Drop the clients of loops closed without shutting down their generators (their
        sockets close when collected); call under the lock."""
        for loop in [loop for loop in self.by_loop if loop.is_closed()]:
            closer, clients = self.closers.get(loop), self.by_loop[loop]
            clients.abandon()
            self._forget(clients)
            if closer is not None:
                closing: Any = closer.aclose()
                with contextlib.suppress(StopIteration, RuntimeError):
                    closing.send(None)

    def close(self) -> None:
        """Registry hook (reset, SnapStart restore): end every loop's connections, from any
        thread (a loop that is still alive sees them closed), and forget them."""
        with self.lock:
            self._sweep()
            for clients in self.by_loop.values():
                clients.abandon()
            self.by_loop.clear()
            self.closers.clear()
            self._last = None


class AsyncRedisCalls:
    """A Redis tier view's calls as coroutines: what the Django adapter's ``aget``, ``aset``,
    ``aget_many``... await instead of a worker thread."""

    def __init__(self, tier: RedisTier) -> None:
        self.tier = tier
        self._clients: AsyncClients | None = None
        self._generation = -1

    def clients(self) -> LoopClients:
        shared = self._clients
        if shared is None or self._generation != registry.generation:
            generation, sync_client = registry.generation, self.tier.client
            key = self.tier._client_key
            shared = registry.get_or_create("redis-async", key, lambda: AsyncClients(sync_client))
            self._clients, self._generation = shared, generation
        return shared.current()

    async def _run(
        self,
        operation: str,
        fn: Callable[[], Awaitable[T]],
        fallback: T,
        *,
        retry: Any = SAME,
        writes: Sequence[str] | None = None,
    ) -> T:
        """``fn()`` under the view's guard; the keys ``writes`` names join the view's recovery
        journal when the call may not have taken effect, as on the sync path."""
        on_failure = None if writes is None else lambda: self.tier.journal.record(writes)
        # Waiting for a free connection is queueing, not a store failure: outside the guard.
        async with self.clients().slots:
            guard = self.tier._shared.guard
            return await guarded(guard, operation, fn, fallback, retry=retry, on_failure=on_failure)

    # -- reads -----------------------------------------------------------------------------
    async def get(self, key: str, default: Any = None) -> Any:
        tier = self.tier

        async def call() -> bytes | None:
            payload: bytes | None = await self.clients().reader().get(key)
            return payload

        payload = await self._run("get", call, None)
        value = MISSING if payload is None else tier._decode(key, payload)
        if value is MISSING:
            tier.stats.misses += 1
            return default
        tier.stats.hits += 1
        return value

    async def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        tier = self.tier
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}

        async def call() -> list[bytes | None]:
            payloads: list[bytes | None] = await self.clients().reader().mget(unique)
            return payloads

        found: dict[str, Any] = {}
        none: list[bytes | None] = []
        for key, raw in zip(unique, await self._run("get_many", call, none), strict=False):
            if raw is not None:
                value = tier._decode(key, raw)
                if value is not MISSING:
                    found[key] = value
        tier.stats.hits += len(found)
        tier.stats.misses += len(unique) - len(found)
        return found

    async def has(self, key: str) -> bool:
        return bool(await self.present(key))

    async def present(self, key: str) -> bool | None:
        """Like :meth:`has`, but None when the store could not be asked."""

        async def call() -> bool | None:
            return bool(await self.clients().reader().exists(key))

        return await self._run("has", call, None)

    # -- writes ----------------------------------------------------------------------------
    async def set(self, key: str, value: Any, ttl: float | None) -> bool:
        return not await self.set_many({key: value}, ttl)

    async def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        from serverless_cache.tiers.redis.tier import _millis

        tier = self.tier
        ttl = expiry(ttl)
        if not items:
            return []
        if ttl is not None and ttl <= 0:
            return [] if await self.delete_many(list(items)) else list(items)
        encoded = {key: tier._encode(key, value) for key, value in items.items()}
        px = _millis(ttl)

        async def call() -> list[str]:
            primary = self.clients().primary
            if len(encoded) == 1:
                ((key, payload),) = encoded.items()
                return [] if await primary.set(key, payload, px=px) else [key]
            pipe = primary.pipeline(transaction=False)
            for key, payload in encoded.items():
                pipe.set(key, payload, px=px)
            replies = await pipe.execute(raise_on_error=False)
            return [key for key, reply in zip(encoded, replies, strict=True) if reply is not True]

        keys = list(encoded)
        failed = await self._run("set_many", call, keys, writes=keys)
        if failed:
            tier._dropped(failed)
        tier.stats.sets += len(encoded) - len(failed)
        if failed and len(failed) < len(encoded):
            tier.log.warning(
                "partial", "%s cache %r could not store %d of %d keys", tier.kind, tier.name,
                len(failed), len(encoded),
            )  # fmt: skip
        return failed

    async def delete(self, key: str) -> bool:
        return await self.remove([key]) > 0

    async def delete_many(self, keys: Sequence[str]) -> bool:
        unique = list(dict.fromkeys(keys))
        return not unique or await self.remove(unique) >= 0

    async def remove(self, keys: Sequence[str]) -> int:
        """As :meth:`Tier.remove`: how many were present, -1 if the store could not be asked."""
        tier = self.tier
        tier.stats.deletes += len(keys)

        async def unlink(names: Sequence[str]) -> int:
            removed: int = await self.clients().primary.unlink(*names)
            return removed

        async def again() -> int:
            return max(await unlink(keys), len(keys))

        return await self._run("delete", lambda: unlink(keys), -1, retry=again, writes=keys)

    async def touch(self, key: str, ttl: float | None) -> bool:
        from serverless_cache.tiers.redis.tier import PERSIST_EXISTING, _millis

        ttl = expiry(ttl)
        if ttl is not None and ttl <= 0:
            return await self.remove([key]) > 0

        async def call() -> bool:
            primary = self.clients().primary
            if ttl is None:
                return bool(await primary.eval(PERSIST_EXISTING, 1, key))
            return bool(await primary.pexpire(key, _millis(ttl) or 1))

        return await self._run("touch", call, False, writes=[key])

    async def add(self, key: str, value: Any, ttl: float | None) -> bool:
        """As :meth:`Tier.add`: True exactly when it stored; a lost reply is retried through
        the write token, as the sync path does."""
        from serverless_cache.tiers.redis.tier import ADD_WITH_TOKEN, _millis, token_key

        tier = self.tier
        ttl = expiry(ttl)
        if ttl is not None and ttl <= 0:
            return await self.present(key) is False
        encoded = tier._encode(key, value)
        token = os.urandom(12)
        marker = token_key(key, cluster=False)
        px = _millis(ttl)

        async def attempt(again: bool) -> bool:
            args = (encoded, token, "" if px is None else px, "1" if again else "0")
            primary = self.clients().primary
            return bool(await primary.eval(ADD_WITH_TOKEN, 2, key, marker, *args))

        added = await self._run("add", lambda: attempt(False), False, retry=lambda: attempt(True))
        tier.stats.sets += added
        return added

    async def incr(self, key: str, delta: int = 1) -> int:
        """As :meth:`Tier.incr`: applied once or not at all (never retried); KeyError when
        missing, CacheUnavailableError when the store cannot be reached."""
        from redis.exceptions import ResponseError

        from serverless_cache.tiers.redis.tier import INCR_EXISTING, incr_error

        tier = self.tier
        check_delta(delta)
        if not -(2**63) <= delta < 2**63:
            raise OverflowError(f"cannot increment {key!r} by {delta}: Redis integers are 64-bit")

        async def call() -> Any:
            primary = self.clients().primary
            try:
                return await primary.eval(INCR_EXISTING, 1, key, delta)
            except ResponseError as exc:
                stored = await primary.get(key) if "out of range" in str(exc) else None
                error = incr_error(key, delta, exc, stored)
                if error is None:
                    raise
                raise error from None

        result = await self._run("incr", call, UNREACHABLE, retry=None, writes=[key])
        if result is UNREACHABLE:
            raise CacheUnavailableError(
                f"{tier.kind} cache {tier.name!r}: incr of {key!r} could not reach the store"
            )
        if result is None:
            raise KeyError(key)
        return int(result)
