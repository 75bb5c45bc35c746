"""ElastiCache for Memcached (or any memcached 1.6+): the tier over pymemcache.

Batch calls are one round trip per node (``get k1 k2 ...``, pipelined sets and deletes); a node
that fails in a batch loses only its own keys, which are reported (misses, keys not stored).

Memcached cannot list keys, so ``clear()`` never flushes the server: every key carries the
namespace generation of its key prefix, a counter kept on each node, and ``clear()`` increments
it on every node. Each round trip reads the node's generation first (see
:mod:`~serverless_cache.tiers.memcached.commands`), so every instance sees a ``clear()`` at
once, at the cost of a few bytes per request; cleared items stay in memory until memcached's LRU
evicts them or they expire. An evicted generation restarts from the clock in milliseconds,
above any generation it had, so old keys never come back.

Memcached has no add-with-token, but ``add`` writes the item's flags atomically with it: each
``add`` puts a random 31-bit token there, so its retry after a lost reply can tell its own
write (``mg <key> f s``: same token, same size) from another writer's. Only two adders of one
key drawing the same token, one of them losing its reply, could make the retry wrong: a 1 in
2**31 chance in that rare event.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from serverless_cache import clock
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import (
    CacheUnavailableError,
    ConfigurationError,
    ValueTooLargeError,
    install_hint,
    installed,
)
from serverless_cache.options import require_int, require_number
from serverless_cache.resilience import ResilienceSettings
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.memcached import commands
from serverless_cache.tiers.memcached.commands import line, store, swap_command
from serverless_cache.tiers.memcached.keys import (
    MAX_KEY_BYTES,
    expire_time,
    generation_key,
)
from serverless_cache.tiers.memcached.namespace import AnsweredError, NamespacedTier
from serverless_cache.tiers.memcached.topology import MemcachedClient, NodePool
from serverless_cache.tiers.memcached.urls import Address, parse_locations, show

if TYPE_CHECKING:
    from pymemcache.client.base import Client

T = TypeVar("T")
#: Memcached's own counters are unsigned 64-bit integers; swapped ones may go down to -2**63.
COUNTER_LIMIT: Final = 2**64
SIGNED_LIMIT: Final = 2**63
#: Compare-and-swap rounds an incr makes against writers of the same key before giving up.
CAS_ATTEMPTS: Final = 50
_SWAP: Final[Any] = object()
_TOKEN_BIT: Final = 0x80000000  # set in every add token, never in a plain set's flags (0)


@dataclass(frozen=True)
class MemcachedSettings:
    """Connection options of the Memcached tier."""

    connect_timeout: float = 1.0
    socket_timeout: float = 1.0
    auto_discovery: bool = False
    discovery_interval: float = 60.0
    max_value_bytes: int = 1024 * 1024 - 1024

    def __post_init__(self) -> None:
        require_number("connect_timeout", self.connect_timeout, minimum=0.001)
        require_number("socket_timeout", self.socket_timeout, minimum=0.001)
        if not isinstance(self.auto_discovery, bool):
            raise ConfigurationError(
                f"option AUTO_DISCOVERY must be True or False, got {self.auto_discovery!r}"
            )
        require_number("discovery_interval", self.discovery_interval, minimum=1)
        require_int("max_value_bytes", self.max_value_bytes, minimum=1)


def add_flags(token: bytes) -> int:
    """The flags an ``add`` with ``token`` writes: its first 31 bits, and the top bit set."""
    return _TOKEN_BIT | (int.from_bytes(token[:4], "big") & (_TOKEN_BIT - 1))


class MemcachedTier(NamespacedTier):
    """A view onto a shared :class:`MemcachedClient` with its codec, counters and key prefix.

    LOCATION: ``memcached://host:port`` URLs (or ``host:port``), a list or comma-separated; with
    AUTO_DISCOVERY, the one address of an ElastiCache configuration endpoint.
    """

    kind = "memcached"

    def __init__(
        self,
        config: TierConfig,
        seeds: tuple[Address, ...],
        settings: MemcachedSettings,
        codec: Codec,
        stampede: StampedeSettings,
        resilience: ResilienceSettings,
    ) -> None:
        super().__init__(
            config,
            codec,
            stampede,
            resilience,
            client=(
                "memcached",
                (seeds, settings),
                lambda breaker: MemcachedClient(seeds, settings, breaker),
            ),
            label=f"memcached cache {config.name!r}",
        )
        self.settings = settings
        self.prefix = config.key_prefix
        self._generation_key = generation_key(config.key_prefix)

    @classmethod
    def from_config(cls, config: TierConfig) -> MemcachedTier:
        """OPTIONS: timeouts, AUTO_DISCOVERY, MAX_VALUE_BYTES, fail-open, codec, stampede."""
        if not installed("pymemcache"):
            raise ConfigurationError(
                f"the Memcached cache needs pymemcache: {install_hint('memcached')}"
            )
        refuse_local_limits(config, "a Memcached cache is bounded by its server (-m, LRU)")
        seeds = parse_locations(config.locations())
        settings, codec, stampede, resilience = config.parse(
            MemcachedSettings, CodecSettings, StampedeSettings, ResilienceSettings
        )
        if settings.auto_discovery and len(seeds) != 1:
            raise ConfigurationError(
                "option AUTO_DISCOVERY takes one LOCATION, the cluster's configuration endpoint "
                f"(…cfg….cache.amazonaws.com:11211), got {len(seeds)}"
            )
        if not config.name:
            config = replace(config, name=show(seeds[0]))
        return cls(config, seeds, settings, Codec(codec), stampede, resilience)

    def __repr__(self) -> str:
        return f"<MemcachedTier {self.name!r} prefix={self.prefix!r} {self.client!r}>"

    def warm(self) -> None:
        """Connect to every node and read its generation, before a request needs them."""

        def connect() -> None:
            for pool in self.client.pools():

                def read(mc: Client, pool: NodePool = pool) -> None:
                    self._learn(pool, self._fetch(mc))

                self._on(pool, read)

        self._run("warm", connect, None)

    # -- plumbing: nodes ---------------------------------------------------------------------
    # -- primitives ------------------------------------------------------------------------
    def _encode(self, key: str, value: Any) -> bytes:
        payload = self.codec.dumps(value)
        if len(payload) > self.settings.max_value_bytes:
            raise ValueTooLargeError(
                f"the value for {key[:MAX_KEY_BYTES]!r} is {len(payload)} bytes once encoded, "
                f"more than MAX_VALUE_BYTES ({self.settings.max_value_bytes}); store less, "
                "compress it (COMPRESS_MIN_BYTES), or raise MAX_VALUE_BYTES with the server's "
                "max_item_size"
            )
        return payload

    def _get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        pools = self.client.pools()
        if len(pools) == 1:  # one node: no grouping, and its failure is the call's
            pool = pools[0]
            return self._on(pool, lambda mc: self._read(mc, pool, keys))
        results, _ = self._each_node(keys, self._read)
        return {key: raw for found in results for key, raw in found.items()}

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[bytes, float | None]]:
        """Values, then their ttl (``mg <key> t``): two round trips per node.

        Memcached counts whole seconds on a clock that may lag by one: an expiry time is
        reported a second early, so that a copy made from it never outlives the item.
        """

        def fetch(mc: Client, pool: NodePool, group: list[str]) -> dict[str, Any]:
            now = clock.time()
            found = self._read(mc, pool, group)
            if not found:
                return {}
            present = list(found)
            _, replies = self._send(
                mc, pool, present, lambda wires: [line(b"mg", wire, b"t") for wire in wires]
            )
            entries: dict[str, tuple[bytes, float | None]] = {}
            for key, reply in zip(present, replies, strict=True):
                remaining = _meta_ttl(reply)
                if remaining is None:
                    entries[key] = (found[key], None)
                elif remaining > 0:
                    entries[key] = (found[key], now + remaining - 1)
            return entries

        results, _ = self._each_node(keys, fetch)
        return {key: entry for found in results for key, entry in found.items()}

    def _ttl(self, key: str) -> float | None:
        return _meta_ttl(self._one(key, lambda wire: [line(b"mg", wire, b"t")])[0])

    def _set_many(self, encoded: Mapping[str, bytes], ttl: float | None) -> list[str]:
        expire = expire_time(ttl)

        def store_all(mc: Client, pool: NodePool, group: list[str]) -> list[str]:
            def sets(wires: list[bytes]) -> list[bytes]:
                return [
                    store(b"set", w, encoded[k], expire) for w, k in zip(wires, group, strict=True)
                ]

            wires, replies = self._send(mc, pool, group, sets)
            refused = [i for i, reply in enumerate(replies) if reply != b"STORED"]
            if refused:  # the server's item limit: drop the old value, as Django's backends do
                self.stats.errors += len(refused)
                self.log.warning(
                    "refused", "%s refused %d values (%s); raise MAX_VALUE_BYTES no higher than "
                    "the server's max_item_size", self.name, len(refused), replies[refused[0]][:80],
                )  # fmt: skip
                commands.send(
                    mc, self._generation_key, [line(b"delete", wires[i]) for i in refused]
                )
            return [group[i] for i in refused]

        results, failed = self._each_node(list(encoded), store_all)
        return [key for refused in results for key in refused] + failed

    def _add(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        flags, expire = add_flags(token), expire_time(ttl)
        reply = self._one(key, lambda wire: [store(b"add", wire, encoded, expire, flags)])[0]
        return _stored(reply)

    def _add_again(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        """The item is there with this add's token (flags) and size: the lost add stored it."""
        reply = self._one(key, lambda wire: [line(b"mg", wire, b"f", b"s")])[0]
        if not _hit(reply):
            return self._add(key, encoded, ttl, token)
        found = dict((word[:1], word[1:]) for word in reply.split()[1:])
        return found.get(b"f") == b"%d" % add_flags(token) and found.get(b"s") == b"%d" % len(
            encoded
        )

    def _delete_many(self, keys: Sequence[str]) -> int:
        def delete(mc: Client, pool: NodePool, group: list[str]) -> int:
            _, replies = self._send(
                mc, pool, group, lambda wires: [line(b"delete", wire) for wire in wires]
            )
            return sum(reply == b"DELETED" for reply in replies)

        counts, failed = self._each_node(keys, delete)
        if failed:
            raise CacheUnavailableError(f"{self.name}: {len(failed)} keys could not be deleted")
        return sum(counts)

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        """Atomic, expiry kept. A non-negative counter going up is memcached's own ``incr`` (one
        round trip); memcached's counters are unsigned, so a decrement, or a negative counter,
        is a compare-and-swap (``gets``, the ttl left, ``cas``: three round trips)."""
        if not -SIGNED_LIMIT <= delta < COUNTER_LIMIT:
            raise OverflowError(f"cannot increment {key!r} by {delta}: counters are 64-bit")
        for attempt in range(CAS_ATTEMPTS):
            result = self._native_incr(key, delta) if delta >= 0 else _SWAP
            if result is _SWAP:
                result = self._swap_incr(key, delta)
                if result is _SWAP:  # another writer came between: back off, read again
                    time.sleep(random.uniform(0, 0.0005 * min(attempt + 1, 20)))
                    continue
            if result is not None or not create:
                return cast("int | None", result)

            def add_start(wire: bytes) -> list[bytes]:
                return [store(b"add", wire, b"%d" % delta, 0)]

            if _stored(self._one(key, add_start)[0]):
                return delta
        raise CacheUnavailableError(f"{self.name}: incr of {key!r} kept racing other writers")

    def _native_incr(self, key: str, delta: int) -> object:
        """``incr``: the new value, None if missing, or _SWAP if the value is not unsigned."""
        step = b"%d" % delta
        reply = self._one(key, lambda wire: [line(b"incr", wire, step)])[0]
        if reply.isdigit():
            return self._unwrap(key, int(reply), delta)
        if reply.startswith(b"CLIENT_ERROR") and b"non-numeric" in reply:
            return _SWAP  # a negative counter, or not a number: the swap tells which
        _answered(reply, b"NOT_FOUND")
        return None

    def _swap_incr(self, key: str, delta: int) -> object:
        """Compare-and-swap: the new value, None if missing, _SWAP if another writer won."""
        pool = self.client.pool_for(key)

        def swap(mc: Client) -> object:
            # The ttl first, so that only one round trip separates gets and cas.
            ttl_reply = self._send(mc, pool, [key], lambda w: [line(b"mg", w[0], b"t")])[1][0]
            remaining = _meta_ttl(ttl_reply)
            found = self._gets(mc, pool, key)
            if found is None:
                return None
            if remaining == 0.0:
                return _SWAP  # written between the two reads: read again
            raw, unique = found
            try:
                value = int(raw)
            except ValueError:
                raise TypeError(f"cannot increment {key!r}: its value is not an integer") from None
            new = value + delta
            if not -SIGNED_LIMIT <= new < COUNTER_LIMIT:
                raise OverflowError(f"cannot increment {key!r} by {delta}: counters are 64-bit")
            data, exptime = b"%d" % new, expire_time(remaining)
            _, (reply,) = self._send(
                mc, pool, [key], lambda w: [swap_command(w[0], data, exptime, unique)]
            )
            if reply == b"STORED":
                return new
            _answered(reply, b"EXISTS", b"NOT_FOUND")
            return _SWAP

        return self._on(pool, swap)

    def _unwrap(self, key: str, result: int, delta: int) -> int:
        """Memcached wraps past 2**64 - 1: undo it (modulo 2**64) and raise OverflowError."""
        if delta > 0 and result < delta:
            undo = b"%d" % (COUNTER_LIMIT - delta)
            self._one(key, lambda wire: [line(b"incr", wire, undo)])
            raise OverflowError(
                f"cannot increment {key!r} by {delta}: Memcached counters are 64-bit"
            )
        return result

    def _touch(self, key: str, ttl: float | None) -> bool:
        expire = b"%d" % expire_time(ttl)
        reply = self._one(key, lambda wire: [line(b"touch", wire, expire)])[0]
        _answered(reply, b"TOUCHED", b"NOT_FOUND")
        return reply == b"TOUCHED"

    def _clear(self) -> bool:
        """A new namespace generation for this prefix on every node; nothing is flushed."""
        key = self._generation_key

        def bump(mc: Client, pool: NodePool) -> None:
            _, (reply,) = commands.send(mc, key, [line(b"incr", key, b"1")])
            self._learn(pool, int(reply) if reply.isdigit() else self._fetch(mc))

        failures = []
        for pool in self.client.pools():

            def bump_on(mc: Client, pool: NodePool = pool) -> None:
                bump(mc, pool)

            try:
                self._on(pool, bump_on)
            except Exception as exc:
                if self.classify(exc) is None:
                    raise
                failures.append(exc)
        if failures:
            raise failures[0]
        return True


def _hit(reply: bytes) -> bool:
    """Whether a meta reply found the item (``HD`` with flags, ``EN`` for a miss)."""
    _answered(reply, b"HD", b"EN")
    return reply.startswith(b"HD")


def _stored(reply: bytes) -> bool:
    _answered(reply, b"STORED", b"NOT_STORED")
    return reply == b"STORED"


def _answered(reply: bytes, *expected: bytes) -> None:
    """Raise AnsweredError for an error line (anything not ``expected``)."""
    if reply.split(b" ", 1)[0] not in expected:
        raise AnsweredError(reply[:120].decode("ascii", "replace"))


def _meta_ttl(reply: bytes) -> float | None:
    """The ttl in a meta reply: ``HD t<seconds>`` (``t-1``: never expires) or ``EN`` (0.0)."""
    if not _hit(reply):
        return 0.0
    for word in reply.split()[1:]:
        if word.startswith(b"t"):
            seconds = int(word[1:])
            return None if seconds < 0 else float(seconds)
    return 0.0
