"""ElastiCache for Memcached (or any memcached): the tier over pymemcache.

Batch calls are one round trip per node (``get k1 k2 ...``, pipelined sets and deletes); a node
that fails in a batch loses only its own keys, which are reported (misses, keys not stored).
Memcached has no add-with-token, but ``add`` stores its item's flags atomically with it: each
``add`` writes a random 31-bit token there, so a retry after a lost reply can tell its own
write (``mg <key> f s``: same token, same size) from another writer's. Two adders of one key
would have to draw the same token for the retry to be wrong: a 1 in 2**31 chance, and only
when a reply was lost.

Memcached cannot list keys, so ``clear()`` does not flush the server: every key carries a
namespace generation (a counter in the cache, per key prefix), and ``clear()`` increments it.
The cost: the generation is read again every GENERATION_CHECK_INTERVAL (one ``get``), other
instances see a ``clear()`` within that interval, and cleared items stay in memory until
memcached evicts them (LRU) or they expire.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from serverless_cache import clock
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, ValueTooLargeError
from serverless_cache.options import require_int, require_number
from serverless_cache.resilience import Fault, ResilienceSettings
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.memcached.discovery import DiscoveryError
from serverless_cache.tiers.memcached.keys import (
    MAX_KEY_BYTES,
    expire_time,
    generation_key,
    wire_key,
)
from serverless_cache.tiers.memcached.topology import MemcachedClient, NodePool
from serverless_cache.tiers.memcached.urls import Address, parse_locations, show
from serverless_cache.tiers.network import NetworkTier

if TYPE_CHECKING:
    from pymemcache.client.base import Client

T = TypeVar("T")
#: Memcached counters are unsigned 64-bit integers.
COUNTER_LIMIT: Final = 2**64
_TOKEN_BIT: Final = 0x80000000  # set in every add token, never in a plain set's flags (0)


@dataclass(frozen=True)
class MemcachedSettings:
    """Connection options of the Memcached tier."""

    connect_timeout: float = 1.0
    socket_timeout: float = 1.0
    auto_discovery: bool = False
    discovery_interval: float = 60.0
    max_value_bytes: int = 1024 * 1024 - 1024
    generation_check_interval: float = 1.0

    def __post_init__(self) -> None:
        require_number("connect_timeout", self.connect_timeout, minimum=0.001)
        require_number("socket_timeout", self.socket_timeout, minimum=0.001)
        if not isinstance(self.auto_discovery, bool):
            raise ConfigurationError(
                f"option AUTO_DISCOVERY must be True or False, got {self.auto_discovery!r}"
            )
        require_number("discovery_interval", self.discovery_interval, minimum=1)
        require_int("max_value_bytes", self.max_value_bytes, minimum=1)
        require_number("generation_check_interval", self.generation_check_interval)


def add_flags(token: bytes) -> int:
    """The flags an ``add`` with ``token`` writes: its first 31 bits, and the top bit set."""
    return _TOKEN_BIT | (int.from_bytes(token[:4], "big") & (_TOKEN_BIT - 1))


class MemcachedTier(NetworkTier):
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
        if importlib.util.find_spec("pymemcache") is None:
            raise ConfigurationError(
                "the Memcached cache needs pymemcache: pip install 'serverless-cache[memcached]'"
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

    @property
    def client(self) -> MemcachedClient:
        """The shared client, created on first use (without connecting), once per process."""
        client: MemcachedClient = self._shared.client
        return client

    def __repr__(self) -> str:
        return f"<MemcachedTier {self.name!r} prefix={self.prefix!r} {self.client!r}>"

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        from pymemcache import exceptions as errors

        if isinstance(exc, DiscoveryError | CacheUnavailableError | ConnectionRefusedError):
            return Fault.FAILED
        if isinstance(exc, errors.MemcacheUnexpectedCloseError):
            return Fault.DROPPED
        if isinstance(exc, TimeoutError | socket.timeout):
            return Fault.FAILED
        if isinstance(exc, ConnectionError):
            return Fault.DROPPED  # reset or broken pipe on an open connection
        if isinstance(exc, errors.MemcacheIllegalInputError):
            return None
        if isinstance(exc, errors.MemcacheClientError | errors.MemcacheServerError):
            return Fault.ANSWERED
        if isinstance(exc, errors.MemcacheError | OSError):
            return Fault.FAILED
        return None

    def warm(self) -> None:
        """Connect to every node and read the generation, before a request needs them."""

        def connect() -> None:
            for pool in self.client.pools():
                self._on(pool, lambda mc: mc.version())
            self._generation()

        self._run("warm", connect, None)

    # -- plumbing --------------------------------------------------------------------------
    def _on(self, pool: NodePool, call: Callable[[Client], T]) -> T:
        """``call`` with a pooled client of ``pool``; a node failure asks for the node list."""
        try:
            with pool.client() as mc:
                return call(mc)
        except BaseException as exc:
            if self.classify(exc) in (Fault.DROPPED, Fault.FAILED):
                self.client.node_failed()
            raise

    def _on_key(self, wire: bytes, call: Callable[[Client], T]) -> T:
        return self._on(self.client.pool_for(wire), call)

    def _each_node(
        self, wires: Sequence[bytes], call: Callable[[Client, list[bytes]], T]
    ) -> tuple[list[T], list[bytes]]:
        """``call`` once per node with its keys: the results, and the keys of failed nodes.

        When every node failed, the first failure is raised (the guard decides what follows).
        """
        results: list[T] = []
        failed: list[bytes] = []
        first: BaseException | None = None
        for pool, group in self.client.group(wires).items():

            def on_node(mc: Client, group: list[bytes] = group) -> T:
                return call(mc, group)

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

    def _generation(self) -> int:
        """This prefix's namespace generation, read from the store at most once per interval."""
        client = self.client
        cached = client.generations.get(self.prefix)
        now = clock.monotonic()
        if cached is not None and now < cached[1]:
            return cached[0]
        key = self._generation_key

        def read(mc: Client) -> int:
            raw = mc.get(key)
            if raw is None:
                start = b"%d" % int(clock.time() * 1000)  # never below an evicted generation
                raw = start if mc.add(key, start, expire=0, noreply=False) else mc.get(key)
            if raw is None:
                raise CacheUnavailableError(f"{self.name}: the namespace generation vanished")
            return int(raw)

        generation = self._on_key(key, read)
        client.generations[self.prefix] = (
            generation,
            now + self.settings.generation_check_interval,
        )
        return generation

    def _wires(self, keys: Sequence[str]) -> dict[bytes, str]:
        generation = self._generation()
        return {wire_key(generation, key): key for key in keys}

    def _wire(self, key: str) -> bytes:
        return wire_key(self._generation(), key)

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
        wires = self._wires(keys)
        results, _ = self._each_node(list(wires), lambda mc, group: mc.get_many(group))
        return {wires[wire]: raw for found in results for wire, raw in found.items()}

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[bytes, float | None]]:
        """Values, then their ttl by a pipeline of ``mg <key> t``: two round trips per node."""
        wires = self._wires(keys)
        now = clock.time()

        def fetch(mc: Client, group: list[bytes]) -> dict[bytes, tuple[bytes, float | None]]:
            found: dict[bytes, bytes] = mc.get_many(group)
            if not found:
                return {}
            command = b"\r\n".join(b"mg " + wire + b" t" for wire in found) + b"\r\nmn"
            lines = mc.raw_command(command, end_tokens=b"MN\r\n").split(b"\r\n")
            entries: dict[bytes, tuple[bytes, float | None]] = {}
            for (wire, raw), line in zip(found.items(), lines, strict=False):
                remaining = _meta_ttl(line)
                if remaining is None:
                    entries[wire] = (raw, None)
                elif remaining > 0:
                    entries[wire] = (raw, now + remaining)
            return entries

        results, _ = self._each_node(list(wires), fetch)
        return {wires[wire]: entry for found in results for wire, entry in found.items()}

    def _has(self, key: str) -> bool:
        wire = self._wire(key)
        return bool(self._on_key(wire, lambda mc: mc.raw_command(b"mg " + wire)) == b"HD")

    def _ttl(self, key: str) -> float | None:
        wire = self._wire(key)
        return _meta_ttl(self._on_key(wire, lambda mc: mc.raw_command(b"mg " + wire + b" t")))

    def _set_many(self, encoded: Mapping[str, bytes], ttl: float | None) -> list[str]:
        wires = self._wires(list(encoded))
        payloads = {wire: encoded[key] for wire, key in wires.items()}
        expire = expire_time(ttl)

        def store(mc: Client, group: list[bytes]) -> list[bytes]:
            batch = {wire: payloads[wire] for wire in group}
            refused: list[bytes] = mc.set_many(batch, expire=expire, noreply=False, flags=0)
            return refused

        results, failed = self._each_node(list(wires), store)
        return [wires[wire] for refused in results for wire in refused] + [
            wires[wire] for wire in failed
        ]

    def _add(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        wire = self._wire(key)
        return self._on_key(wire, lambda mc: self._add_on(mc, wire, encoded, ttl, token))

    def _add_again(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        """The item is there with this add's token (flags) and size: the lost add stored it."""
        wire = self._wire(key)

        def again(mc: Client) -> bool:
            reply = mc.raw_command(b"mg " + wire + b" f s")
            if reply == b"EN":
                return self._add_on(mc, wire, encoded, ttl, token)
            found = dict((word[:1], word[1:]) for word in reply.split()[1:])
            return found.get(b"f") == b"%d" % add_flags(token) and found.get(b"s") == b"%d" % len(
                encoded
            )

        return self._on_key(wire, again)

    @staticmethod
    def _add_on(mc: Client, wire: bytes, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        flags = add_flags(token)
        return bool(mc.add(wire, encoded, expire=expire_time(ttl), noreply=False, flags=flags))

    def _delete_many(self, keys: Sequence[str]) -> int:
        """One ``delete`` (True if present); several are pipelined, whose count memcached's
        client does not report: len(keys)."""
        if len(keys) == 1:
            wire = self._wire(keys[0])
            return int(self._on_key(wire, lambda mc: mc.delete(wire, noreply=False)))
        wires = list(self._wires(keys))
        _, failed = self._each_node(wires, lambda mc, group: mc.delete_many(group, noreply=False))
        if failed:
            raise CacheUnavailableError(f"{self.name}: {len(failed)} keys could not be deleted")
        return len(keys)

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        """Memcached's own incr/decr: atomic, expiry kept. Its counters are unsigned 64-bit: a
        decrement stops at 0 (as with Django's Memcached backends) and a negative stored
        integer cannot be incremented (TypeError)."""
        if not -COUNTER_LIMIT < delta < COUNTER_LIMIT:
            raise OverflowError(
                f"cannot increment {key!r} by {delta}: Memcached counters are 64-bit"
            )
        wire = self._wire(key)
        return self._on_key(wire, lambda mc: self._incr_on(mc, key, wire, delta, create))

    @staticmethod
    def _incr_on(mc: Client, key: str, wire: bytes, delta: int, create: bool) -> int | None:
        from pymemcache.exceptions import MemcacheClientError

        try:
            for _ in range(2):
                result = mc.incr(wire, delta) if delta >= 0 else mc.decr(wire, -delta)
                if result is not None or not create:
                    break
                start = max(delta, 0)
                if mc.add(wire, b"%d" % start, expire=0, noreply=False):
                    return start
        except MemcacheClientError as exc:
            if "non-numeric" in str(exc):
                raise TypeError(
                    f"cannot increment {key!r}: its value is not a non-negative integer "
                    "(Memcached counters are unsigned)"
                ) from None
            raise
        if result is not None and delta > 0 and result < delta:  # wrapped past 2**64 - 1
            mc.incr(wire, COUNTER_LIMIT - delta)  # modulo 2**64: back to the old value
            raise OverflowError(
                f"cannot increment {key!r} by {delta}: Memcached counters are 64-bit"
            )
        return None if result is None else int(result)

    def _touch(self, key: str, ttl: float | None) -> bool:
        wire = self._wire(key)
        return bool(self._on_key(wire, lambda mc: mc.touch(wire, expire_time(ttl), noreply=False)))

    def _clear(self) -> bool:
        """A new namespace generation for this prefix: one ``incr``; nothing is flushed."""
        key = self._generation_key

        def bump(mc: Client) -> int:
            generation = mc.incr(key, 1)
            if generation is None:
                start = int(clock.time() * 1000)
                generation = start if mc.add(key, b"%d" % start, expire=0, noreply=False) else None
            return generation if generation is not None else int(mc.incr(key, 1) or 0)

        generation = self._on_key(key, bump)
        deadline = clock.monotonic() + self.settings.generation_check_interval
        self.client.generations[self.prefix] = (generation, deadline)
        return True


def _meta_ttl(line: bytes) -> float | None:
    """The ttl in a meta reply: ``HD t<seconds>`` (``t-1``: never expires) or ``EN`` (0.0)."""
    for word in line.split()[1:]:
        if word.startswith(b"t"):
            seconds = int(word[1:])
            return None if seconds < 0 else float(seconds)
    return 0.0
