"""Who the Memcached tier talks to: its nodes, which node holds a key, and pooled connections.

One :class:`MemcachedClient` per configuration lives in the registry. Keys are placed by
rendezvous (highest random weight) hashing, a consistent hashing that moves only the keys of a
node that joins or leaves. With AUTO_DISCOVERY the node list comes from an ElastiCache
configuration endpoint, fetched again every DISCOVERY_INTERVAL and soon after a node failed.

Each node has a small pool of pymemcache clients. A pooled socket that the server closed while
the process was idle or frozen (a Lambda thaw, memcached's idle timeout, a node restart) is
noticed before any command is sent on it, and replaced: that is safe for every command, even
``incr``. A connection that fails during a command is closed, never reused.
"""

from __future__ import annotations

import hashlib
import logging
import select
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from serverless_cache import clock
from serverless_cache.resilience import CircuitBreaker
from serverless_cache.tiers.memcached import discovery
from serverless_cache.tiers.memcached.urls import Address, show

if TYPE_CHECKING:
    from pymemcache.client.base import Client

    from serverless_cache.tiers.memcached.tier import MemcachedSettings

T = TypeVar("T")
logger = logging.getLogger("serverless_cache")
#: After a node failed, the node list may be fetched again this soon (seconds).
RECHECK_AFTER_FAILURE: Final = 1.0


def closed_by_peer(sock: Any) -> bool:
    """Whether an idle connection has something to read: only EOF or a reset can be there."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class NodePool:
    """Idle pymemcache clients of one node; a client is used by one thread at a time."""

    def __init__(self, address: Address, settings: MemcachedSettings) -> None:
        self.address = address
        self.settings = settings
        #: Idle sockets found closed by the server and replaced before use.
        self.replaced = 0
        self._idle: list[Client] = []

    def __repr__(self) -> str:
        return f"<NodePool {show(self.address)} idle={len(self._idle)}>"

    def _make(self) -> Client:
        from pymemcache.client.base import Client

        return Client(
            self.address,
            connect_timeout=self.settings.connect_timeout,
            timeout=self.settings.socket_timeout,
            no_delay=True,
            default_noreply=False,
        )

    def run(self, call: Callable[[Client], T]) -> T:
        """``call`` with a client of this pool: kept after success, closed after a failure."""
        try:
            client = self._idle.pop()  # list.pop is atomic: no lock needed to take one
        except IndexError:
            client = self._make()
        else:
            if client.sock is not None and closed_by_peer(client.sock):
                client.close()  # pymemcache reconnects on the next command
                self.replaced += 1
        try:
            result = call(client)
        except BaseException:
            client.close()
            raise
        self._idle.append(client)
        return result

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            client.close()


class MemcachedClient:
    """Process-wide: the nodes of one configuration, their pools and the circuit breaker."""

    def __init__(
        self, seeds: tuple[Address, ...], settings: MemcachedSettings, breaker: CircuitBreaker
    ) -> None:
        self.seeds = seeds
        self.settings = settings
        self.breaker = breaker
        #: The configuration endpoint's version of the node list (auto-discovery), or None.
        self.config_version: int | None = None
        #: Times the node list was fetched from the configuration endpoint.
        self.discoveries = 0
        #: (key prefix, node) -> the namespace generation last seen there, shared by the views.
        self.generations: dict[tuple[str, Address], int] = {}
        self._lock = threading.Lock()
        self._pools: dict[Address, NodePool] = {}
        self._ids: tuple[tuple[bytes, NodePool], ...] = ()
        self._due = 0.0  # when the node list is next fetched (auto-discovery)
        self._fetched_at = -float("inf")
        if not settings.auto_discovery:
            self._use(seeds)

    def __repr__(self) -> str:
        mode = "configuration endpoint" if self.settings.auto_discovery else "nodes"
        return f"<MemcachedClient {mode} {', '.join(show(a) for a in self.seeds)}>"

    # -- nodes -----------------------------------------------------------------------------
    def pools(self) -> list[NodePool]:
        """One pool per current node (fetching the node list first when it is due)."""
        self._refresh_if_due()
        return [pool for _, pool in self._ids]

    def pool_for(self, key: str) -> NodePool:
        """The node that holds ``key`` (placed by the key itself, whatever its namespace)."""
        self._refresh_if_due()
        ids = self._ids
        if len(ids) == 1:
            return ids[0][1]
        raw = key.encode("utf-8", "surrogatepass")
        return max(ids, key=lambda entry: _score(entry[0], raw))[1]

    def group(self, keys: Sequence[str]) -> dict[NodePool, list[str]]:
        """``keys`` by the node that holds them (one round trip per node), in order."""
        self._refresh_if_due()
        if len(self._ids) == 1:
            return {self._ids[0][1]: list(keys)}
        groups: dict[NodePool, list[str]] = {}
        for key in keys:
            groups.setdefault(self.pool_for(key), []).append(key)
        return groups

    def node_failed(self) -> None:
        """A node could not be reached: with auto-discovery, ask for the node list soon."""
        if self.settings.auto_discovery:
            self._due = min(self._due, self._fetched_at + RECHECK_AFTER_FAILURE)

    def _refresh_if_due(self) -> None:
        if not self.settings.auto_discovery or clock.monotonic() < self._due:
            return
        with self._lock:
            now = clock.monotonic()
            if now < self._due:
                return
            self._fetched_at = now
            self._due = now + self.settings.discovery_interval
            try:
                config = discovery.fetch(self.seeds[0], self.settings.connect_timeout)
            except OSError as exc:
                if not self._ids:
                    self._due = now  # nothing to fall back on: every call asks again
                    raise discovery.DiscoveryError(
                        f"configuration endpoint {show(self.seeds[0])} unreachable "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
                logger.warning(
                    "serverless_cache: configuration endpoint %s unreachable (%s); keeping the "
                    "%d known nodes",
                    show(self.seeds[0]),
                    exc,
                    len(self._ids),
                )
                return
            self.discoveries += 1
            if config.version != self.config_version or not self._ids:
                self._use(config.nodes)
                self.config_version = config.version

    def _use(self, nodes: Sequence[Address]) -> None:
        """Make ``nodes`` current, keeping the pools of nodes that stay, closing the others."""
        pools = {address: self._pools.get(address) or NodePool(address, self.settings)
                 for address in nodes}  # fmt: skip
        gone = [pool for address, pool in self._pools.items() if address not in pools]
        self._pools = pools
        self._ids = tuple((f"{host}:{port}".encode(), pool) for (host, port), pool in pools.items())
        for pool in gone:
            pool.close()

    def close(self) -> None:
        """Disconnect every pooled connection (registry discard, SnapStart restore, tests)."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()


def _score(node_id: bytes, key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(node_id + b"\x00" + key, digest_size=8).digest(), "big")
