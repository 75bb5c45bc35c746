"""The Redis tier in asyncio: ``redis.asyncio`` clients, one set per event loop.

A connection belongs to the event loop that opened it, and Mangum may run each invocation in
a new loop (``asyncio.run()``), so each loop gets its own clients on its first call. They are
closed when the loop shuts down: ``asyncio.run()`` closes the asynchronous generators before
the loop, and one of them holds each loop's clients (a loop closed without that is swept when
the next loop starts). The contract's rules are not here: :mod:`serverless_cache.tiers.asynchronous`
applies them, as the base does for the sync primitives. Standalone Redis only: a cluster and
IAM connections keep the worker-thread path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from serverless_cache import registry
from serverless_cache.tiers.redis.commands import (
    ADD_WITH_TOKEN,
    INCR_EXISTING,
    PERSIST_EXISTING,
    check_range,
    incr_error,
    millis,
    token_key,
)
from serverless_cache.tiers.redis.read_batches import (
    ClientsClosed,
    Command,
    Deadline,
    ReadBatches,
)
from serverless_cache.tiers.rules import MISSING

if TYPE_CHECKING:
    from serverless_cache.tiers.redis.tier import RedisTier
    from serverless_cache.tiers.redis.topology import RedisClient

Loop = asyncio.AbstractEventLoop
#: Connections per loop without MAX_CONNECTIONS: as many as the worker threads of the thread
#: path (asyncio's default executor), so going native opens no more connections than it did.
DEFAULT_CONNECTIONS = min(32, (os.cpu_count() or 1) + 4)
#: Python 3.11's asyncio.timeout: one timer per call. redis.asyncio's own SOCKET_TIMEOUT wraps
#: every write in asyncio.wait_for, a task per command; before 3.11 it keeps that.
_timeout: Any = getattr(asyncio, "timeout", None)


class LoopClients:
    """The ``redis.asyncio`` clients of one configuration on one event loop."""

    def __init__(self, loop: Loop, primary: Any, replicas: list[Any], limit: int) -> None:
        self.loop = loop
        self.primary = primary
        self.replicas = replicas
        #: Calls in flight at most, so at most ``limit`` connections per client: a FIFO
        #: semaphore wakes one waiter per release (redis-py's blocking pool wakes them all).
        self.slots = asyncio.Semaphore(limit)
        #: Set once the clients are closed: a call that waited for a slot since then goes to
        #: the clients that replaced them.
        self.closed = False
        self.encode = primary.get_encoder().encode
        self.batches = ReadBatches(self)

    def reader(self) -> Any:
        import random

        return random.choice(self.replicas) if self.replicas else self.primary

    async def read(self, command: Command, deadline: Deadline) -> Any:
        """The reply to one read: on a free connection now or, when every connection is busy,
        in the next pipeline (see :mod:`~serverless_cache.tiers.redis.read_batches`)."""
        if not self.slots.locked():
            async with self.slots, deadline():
                return await self.reader().execute_command(*command)
        return await self.batches.join(command, deadline)

    async def aclose(self) -> None:
        self.closed = True
        for client in (self.primary, *self.replicas):
            await client.aclose(close_connection_pool=True)

    def abandon(self) -> None:
        """The loop closed without closing them, and cannot run their close any more: end
        each connection at the socket (the server frees it now, the descriptor goes with
        the objects)."""
        self.closed = True
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
            if _timeout is not None:
                kwargs["socket_timeout"] = None  # applied per call: AsyncRedisStore.deadline
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


class AsyncRedisStore:
    """A Redis tier view's primitives as coroutines (see
    :class:`~serverless_cache.tiers.asynchronous.AsyncStore`): what the contract's async calls
    await instead of a worker thread, on the running loop's clients."""

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

    def deadline(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SOCKET_TIMEOUT for one call (a TimeoutError past it; the connection is dropped)."""
        timeout = self.tier.settings.socket_timeout
        return contextlib.nullcontext() if _timeout is None else _timeout(timeout)

    def primary(self) -> PrimarySlot:
        """``async with store.primary() as primary``: a connection's slot on the primary."""
        return PrimarySlot(self)

    async def read(self, command: Command) -> Any:
        """The reply to a read; one that waited through a reset asks the new clients."""
        while True:
            try:
                return await self.clients().read(command, self.deadline)
            except ClientsClosed:
                continue

    async def get(self, key: str) -> Any:
        payload = await self.read(("GET", key))
        return MISSING if payload is None else payload

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        payloads = await self.read(("MGET", *keys))
        return {key: raw for key, raw in zip(keys, payloads, strict=True) if raw is not None}

    # Writes wait for a connection of their own (outside SOCKET_TIMEOUT): a write is never
    # sent in a pipeline with other callers' calls, whose failure it would share.
    async def set_many(self, encoded: Mapping[str, bytes], ttl: float | None) -> list[str]:
        px = millis(ttl)
        if len(encoded) == 1:
            ((key, payload),) = encoded.items()
            async with self.primary() as primary, self.deadline():
                return [] if await primary.set(key, payload, px=px) else [key]
        async with self.primary() as primary, self.deadline():
            pipe = primary.pipeline(transaction=False)
            for key, payload in encoded.items():
                pipe.set(key, payload, px=px)
            replies = await pipe.execute(raise_on_error=False)
        return [key for key, reply in zip(encoded, replies, strict=True) if reply is not True]

    async def add(
        self, key: str, encoded: bytes, ttl: float | None, token: bytes, *, again: bool
    ) -> bool:
        px = millis(ttl)
        args = (encoded, token, "" if px is None else px, "1" if again else "0")
        marker = token_key(key, cluster=False)
        async with self.primary() as primary, self.deadline():
            return bool(await primary.eval(ADD_WITH_TOKEN, 2, key, marker, *args))

    async def delete_many(self, keys: Sequence[str]) -> int:
        async with self.primary() as primary, self.deadline():
            removed: int = await primary.unlink(*keys)
        return removed

    async def incr(self, key: str, delta: int, create: bool) -> int | None:
        from redis.exceptions import ResponseError

        check_range(key, delta)
        async with self.primary() as primary:
            try:
                async with self.deadline():
                    if create:
                        return int(await primary.incrby(key, delta))
                    result = await primary.eval(INCR_EXISTING, 1, key, delta)
            except ResponseError as exc:
                async with self.deadline():
                    stored = await primary.get(key) if "out of range" in str(exc) else None
                error = incr_error(key, delta, exc, stored)
                if error is None:
                    raise
                raise error from None
        return None if result is None else int(result)

    async def touch(self, key: str, ttl: float | None) -> bool:
        async with self.primary() as primary, self.deadline():
            if ttl is None:
                return bool(await primary.eval(PERSIST_EXISTING, 1, key))
            return bool(await primary.pexpire(key, millis(ttl) or 1))


class PrimarySlot:
    """A connection's slot on the running loop's primary: a wait that outlives a reset (the
    clients closed meanwhile) moves to the clients that replaced them."""

    __slots__ = ("clients", "store")

    def __init__(self, store: AsyncRedisStore) -> None:
        self.store = store

    async def __aenter__(self) -> Any:
        while True:
            clients = self.store.clients()
            await clients.slots.acquire()
            if not clients.closed:
                self.clients = clients
                return clients.primary
            clients.slots.release()

    async def __aexit__(self, *exc_info: object) -> None:
        self.clients.slots.release()
