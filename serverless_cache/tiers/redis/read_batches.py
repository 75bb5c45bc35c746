"""Reads that find every connection of a loop busy, sent together.

The next free connection writes them as one pipeline and reads each reply under its own
SOCKET_TIMEOUT, so waiting for a connection costs one round trip for all of them, where the
bare client gets there by opening a connection per caller. Only reads are batched: a write is
never sent with other callers' calls, whose failure it would share.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serverless_cache.tiers.redis.aio import LoopClients

#: Reads per pipeline at most; more start the next one (on the next free connection).
MAX_BATCH = 64

Command = tuple[Any, ...]
Deadline = Callable[[], AbstractAsyncContextManager[Any]]
Waiting = list[tuple[Command, "asyncio.Future[Any]"]]


class ClientsClosed(Exception):
    """The clients closed (a reset) while the read waited: ask the clients replacing them."""


def _unsent(reason: str) -> Exception:
    """What a read that was never sent is answered with: a dropped call, tried once more."""
    from redis.exceptions import ConnectionError

    return ConnectionError(reason)


class ReadBatches:
    """The open batch of one loop's clients, and the tasks sending the batches."""

    def __init__(self, clients: LoopClients) -> None:
        self.clients = clients
        self.open: Waiting | None = None
        self.senders: set[asyncio.Task[None]] = set()

    def join(self, command: Command, deadline: Deadline) -> asyncio.Future[Any]:
        """A future for the reply to ``command`` (a command name and its arguments)."""
        # Encoded here, so an argument that cannot be sent fails its own read, not the batch.
        encode = self.clients.encode
        encoded = (command[0], *(encode(argument) for argument in command[1:]))
        batch = self.open
        if batch is None or len(batch) >= MAX_BATCH:
            batch = self.open = []
            sender = self.clients.loop.create_task(self._send(batch, deadline))
            self.senders.add(sender)
            sender.add_done_callback(functools.partial(self._sent, batch))
        future = self.clients.loop.create_future()
        batch.append((encoded, future))
        return future

    def _sent(self, batch: Waiting, sender: asyncio.Task[None]) -> None:
        """However the sender ended (even cancelled before it ran), no read waits on it."""
        self.senders.discard(sender)
        if self.open is batch:
            self.open = None
        for _, future in batch:
            if not future.done():
                future.set_exception(_unsent("the batch's sender was cancelled before it sent"))

    async def _send(self, batch: Waiting, deadline: Deadline) -> None:
        clients = self.clients
        async with clients.slots:
            if self.open is batch:
                self.open = None  # reads from now on start the next batch
            waiting = [(command, future) for command, future in batch if not future.done()]
            if not waiting:  # every caller gave up (cancelled) while it waited
                return
            try:
                if clients.closed:
                    raise ClientsClosed
                await _pipeline(clients.reader(), waiting, deadline)
            except BaseException as exc:
                answer = exc
                if isinstance(exc, asyncio.CancelledError):  # the sender's, not the callers'
                    answer = _unsent("the batch's sender was cancelled")
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(answer)
                if not isinstance(exc, Exception):
                    raise


async def _pipeline(client: Any, waiting: Waiting, deadline: Deadline) -> None:
    """Write every command at once, then answer each with its reply, read in turn under its
    own deadline. A reply that is an error answers its read alone; an error of the connection
    ends the pipeline (and, raised, every read still unanswered)."""
    from redis.exceptions import ResponseError

    pool = client.connection_pool
    connection = None
    try:
        async with deadline():
            connection = await pool.get_connection()
            await connection.send_packed_command(
                connection.pack_commands([command for command, _ in waiting])
            )
        for command, future in waiting:
            try:
                async with deadline():
                    reply = await client.parse_response(connection, command[0])
            except ResponseError as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(reply)
    finally:
        if connection is not None:
            await pool.release(connection)
