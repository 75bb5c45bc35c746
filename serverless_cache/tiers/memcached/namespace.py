"""The Memcached tier's plumbing: calls on a node's pooled clients, in the node's namespace.

Every key carries the namespace generation of its key prefix, a counter kept on each node; a
round trip reads the node's generation with its commands, and sends them again when a
``clear()`` came between (see :mod:`~serverless_cache.tiers.memcached.commands`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.resilience import Fault
from serverless_cache.tiers.memcached import commands
from serverless_cache.tiers.memcached.discovery import DiscoveryError
from serverless_cache.tiers.memcached.keys import wire_key
from serverless_cache.tiers.memcached.topology import MemcachedClient, NodePool
from serverless_cache.tiers.network import NetworkTier

if TYPE_CHECKING:
    from pymemcache.client.base import Client

T = TypeVar("T")
#: Round trips a call makes to follow generations that keep changing (clear() in a loop).
ATTEMPTS: Final = 3


class AnsweredError(Exception):
    """The server answered a command with an error line (its message says which)."""


class NamespacedTier(NetworkTier):
    """Calls on the nodes of a :class:`MemcachedClient`, each in its node's namespace."""

    prefix: str
    _generation_key: bytes

    @property
    def client(self) -> MemcachedClient:
        """The shared client, created on first use (without connecting), once per process."""
        client: MemcachedClient = self._shared.client
        return client

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        from pymemcache import exceptions as errors

        if isinstance(exc, DiscoveryError | ConnectionRefusedError):
            return Fault.FAILED
        if isinstance(exc, errors.MemcacheUnexpectedCloseError):
            return Fault.DROPPED
        if isinstance(exc, TimeoutError | socket.timeout):
            return Fault.FAILED
        if isinstance(exc, ConnectionError):
            return Fault.DROPPED  # reset or broken pipe on an open connection
        if isinstance(exc, errors.MemcacheIllegalInputError):
            return None
        if isinstance(exc, AnsweredError | errors.MemcacheClientError | errors.MemcacheServerError):
            return Fault.ANSWERED
        if isinstance(exc, errors.MemcacheError | OSError):
            return Fault.FAILED
        return None

    def _on(self, pool: NodePool, call: Callable[[Client], T]) -> T:
        """``call`` with a pooled client of ``pool``; a node failure asks for the node list."""
        try:
            return pool.run(call)
        except BaseException as exc:
            if self.classify(exc) in (Fault.DROPPED, Fault.FAILED):
                self.client.node_failed()
            raise

    def _each_node(
        self, keys: Sequence[str], call: Callable[[Client, NodePool, list[str]], T]
    ) -> tuple[list[T], list[str]]:
        """``call`` once per node with its keys: the results, and the keys of failed nodes.

        When every node failed, the first failure is raised (the guard decides what follows).
        """
        results: list[T] = []
        failed: list[str] = []
        first: BaseException | None = None
        for pool, group in self.client.group(keys).items():

            def on_node(mc: Client, pool: NodePool = pool, group: list[str] = group) -> T:
                return call(mc, pool, group)

            try:
                results.append(self._on(pool, on_node))
            except Exception as exc:
                if self.classify(exc) is None:
                    raise
                first = first or exc
                failed += group
        if first is not None:
            if not results:
                raise first
            self.stats.errors += 1
            self.log.warning(
                "node", "%s: a node failed (%s: %s); its %d keys are misses or not stored",
                self.name, type(first).__name__, first, len(failed),
            )  # fmt: skip
        return results, failed

    def _one(self, key: str, commands_for: Callable[[bytes], list[bytes]]) -> list[bytes]:
        """The replies of ``commands_for(wire key)`` on ``key``'s node, in its namespace."""
        pool = self.client.pool_for(key)

        def run(mc: Client) -> list[bytes]:
            return self._send(mc, pool, [key], lambda wires: commands_for(wires[0]))[1]

        return self._on(pool, run)

    # -- plumbing: namespace generations -----------------------------------------------------
    def _learn(self, pool: NodePool, generation: int) -> None:
        self.client.generations[(self.prefix, pool.address)] = generation

    def _known(self, mc: Client, pool: NodePool) -> int:
        generation = self.client.generations.get((self.prefix, pool.address))
        if generation is None:
            generation = self._fetch(mc)
            self._learn(pool, generation)
        return generation

    def _fetch(self, mc: Client) -> int:
        """The node's generation, created from the clock (milliseconds) if it has none."""
        key = self._generation_key
        raw = mc.get(key)
        if raw is None:
            start = b"%d" % int(clock.time() * 1000)
            raw = start if mc.add(key, start, expire=0, noreply=False) else mc.get(key)
        if raw is None:
            raise CacheUnavailableError(f"{self.name}: the namespace generation keeps vanishing")
        return int(raw)

    def _send(
        self,
        mc: Client,
        pool: NodePool,
        keys: Sequence[str],
        commands_for: Callable[[list[bytes]], list[bytes]],
    ) -> tuple[list[bytes], list[bytes]]:
        """Run the commands for the wire keys of ``keys`` in the node's current namespace.

        One round trip, or one more per ``clear()`` that came between (the commands that ran
        in an old namespace are unreadable, so they are sent again). Returns the wire keys and
        one reply line per command.
        """
        for _ in range(ATTEMPTS):
            generation = self._known(mc, pool)
            wires = [wire_key(generation, key) for key in keys]
            found, replies = commands.send(mc, self._generation_key, commands_for(wires))
            if found == generation:
                return wires, replies
            self._learn(pool, found if found is not None else self._fetch(mc))
        raise CacheUnavailableError(f"{self.name}: the namespace changed {ATTEMPTS} times")

    def _read(self, mc: Client, pool: NodePool, keys: Sequence[str]) -> dict[str, bytes]:
        """``get`` of the node's generation and of ``keys``, in one round trip."""
        for _ in range(ATTEMPTS):
            generation = self._known(mc, pool)
            wires = {wire_key(generation, key): key for key in keys}
            found: dict[bytes, bytes] = mc.get_many([self._generation_key, *wires])
            raw = found.pop(self._generation_key, None)
            if raw is not None and int(raw) == generation:
                return {wires[wire]: value for wire, value in found.items()}
            self._learn(pool, int(raw) if raw is not None else self._fetch(mc))
        raise CacheUnavailableError(f"{self.name}: the namespace changed {ATTEMPTS} times")

    def _gets(self, mc: Client, pool: NodePool, key: str) -> tuple[bytes, bytes] | None:
        """``gets`` of the node's generation and of ``key``: (value, cas unique) or None."""
        for _ in range(ATTEMPTS):
            generation = self._known(mc, pool)
            wire = wire_key(generation, key)
            found: dict[bytes, tuple[bytes, bytes]] = mc.gets_many([self._generation_key, wire])
            raw = found.pop(self._generation_key, (None, b""))[0]
            if raw is not None and int(raw) == generation:
                return found.get(wire)
            self._learn(pool, int(raw) if raw is not None else self._fetch(mc))
        raise CacheUnavailableError(f"{self.name}: the namespace changed {ATTEMPTS} times")
