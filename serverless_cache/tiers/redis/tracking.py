"""Push invalidation: Redis tells this process about every write under a key prefix.

One RESP3 connection per layered cache and process turns on client tracking in broadcast mode
(``CLIENT TRACKING ON BCAST PREFIX <key prefix>``): the server then pushes an ``invalidate``
message naming each key any client writes, expires or evicts under the prefix, and ``None``
when the database is flushed. Nothing runs in the background (on Lambda nothing runs between
invocations, and a frozen process hears nothing): before each L1 read the layered cache calls
:meth:`Tracker.sync`, which reads what is waiting on the socket, and after any pause longer
than ``SYNC_AFTER`` first sends a PING and reads up to its reply: the server writes to a
connection in order, so every message about a write it applied before that PING is then
handled. A lost connection, or a new one, empties L1: what was written meanwhile was not heard.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from serverless_cache import clock
from serverless_cache.errors import ConfigurationError

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier
    from serverless_cache.tiers.redis.tier import RedisTier

#: Seconds without a sync after which one first makes sure every message sent is read (a
#: PING round trip): at a thaw, or in a quiet process. Within it, reads only drain the socket.
SYNC_AFTER: Final = 0.05
#: Seconds between attempts to connect while the server cannot be reached; meanwhile the L1
#: is served under the polled epoch and its CAP, as without push.
RETRY_AFTER: Final = 1.0

#: Called with the keys a message names, or None when everything must go (flush, lost
#: connection, new connection).
Handler = Callable[[list[str] | None], None]


class Tracker:
    """Process-wide (a registry entry): the tracking connection of one layered cache."""

    def __init__(self, tier: RedisTier, prefix: str) -> None:
        self.tier = tier
        self.prefix = prefix
        self.lock = threading.Lock()
        self._conn: Any = None
        self._handler: Handler | None = None
        self._synced_at = -math.inf
        self._retry_at = -math.inf
        #: Connections opened and lost, for tests and diagnostics.
        self.connects = 0
        self.losses = 0

    def sync(self, handler: Handler) -> bool:
        """Handle every message waiting; True when the connection is up, so that L1 copies
        are as fresh as the messages say. ``handler`` receives what they name."""
        with self.lock:
            self._handler = handler
            now = clock.monotonic()
            if self._conn is None and not self._reconnect(now):
                return False
            try:
                self._read(now)
            except Exception as exc:  # the connection is gone: nothing it said can be trusted
                self._lose(exc)
                if not self._reconnect(now):
                    return False
                try:
                    self._read(now)
                except Exception as again:
                    self._lose(again)
                    return False
            self._synced_at = now
            return True

    def _read(self, now: float) -> None:
        conn = self._conn
        if now - self._synced_at >= SYNC_AFTER:
            conn.send_command("PING")
            conn.read_response()  # messages before the PONG reach the handler on the way
        else:
            while conn.can_read(0):
                conn.read_response(push_request=True)

    def _reconnect(self, now: float) -> bool:
        if now < self._retry_at:
            return False
        try:
            self._conn = self._open()
        except Exception as exc:
            self._conn = None
            self._retry_at = now + RETRY_AFTER
            self.tier.log.warning(
                "tracking", "push invalidation unavailable for %r (%s); polling the epoch",
                self.tier.name, type(exc).__name__,
            )  # fmt: skip
            return False
        self.connects += 1
        self._synced_at = -math.inf
        self._notify(None)  # what was written before we listened was not heard
        return True

    def _open(self) -> Any:
        import redis
        from redis._parsers import _RESP3Parser

        client = self.tier.client
        url = client.urls[0]
        kwargs = client._common_kwargs(url)
        kwargs.pop("max_connections", None)
        if client.tokens is not None:
            from serverless_cache.tiers.redis.iam import iam_connection_class

            kwargs["connection_class"] = iam_connection_class()
        pool = redis.ConnectionPool.from_url(url, protocol=3, parser_class=_RESP3Parser, **kwargs)
        conn: Any = pool.make_connection()
        conn._parser.set_invalidation_push_handler(self._on_push)
        try:
            conn.connect()
            command = ["CLIENT", "TRACKING", "ON", "BCAST"]
            if self.prefix:
                command += ["PREFIX", self.prefix]
            conn.send_command(*command)
            conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        return conn

    def _lose(self, exc: BaseException) -> None:
        conn, self._conn = self._conn, None
        self.losses += 1
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # already closed
                pass
        self._notify(None)
        self.tier.log.warning(
            "tracking", "push invalidation connection of %r lost (%s); L1 emptied",
            self.tier.name, type(exc).__name__,
        )  # fmt: skip

    def _on_push(self, message: list[Any]) -> None:
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self._notify(None)
        else:
            self._notify(
                [k.decode("utf-8", "replace") if isinstance(k, bytes) else k for k in keys]
            )

    def _notify(self, keys: list[str] | None) -> None:
        if self._handler is not None:
            self._handler(keys)

    def close(self) -> None:
        with self.lock:
            conn, self._conn = self._conn, None
            self._synced_at = self._retry_at = -math.inf
        if conn is not None:
            conn.disconnect()

    #: After a SnapStart restore the socket is the snapshot's (dead): closed, reopened when
    #: the next read syncs (which empties L1).
    restore = close

    def reset(self) -> None:
        """Between tests: closed, counters zeroed."""
        self.close()
        self.connects = self.losses = 0


def check_push(last: Tier, where: str) -> RedisTier:
    """The last tier of a layered cache with INVALIDATION "push": a standalone Redis one."""
    from serverless_cache.tiers.redis.tier import RedisTier

    if not isinstance(last, RedisTier) or last.settings.cluster_mode:
        raise ConfigurationError(
            f"{where}: option INVALIDATION 'push' needs the last tier to be a standalone Redis "
            "(client tracking is per node); use INVALIDATION 'epoch' with this last tier"
        )
    return last
