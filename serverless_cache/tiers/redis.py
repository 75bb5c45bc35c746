"""Redis / Valkey / ElastiCache tier: standalone (with read replicas), TLS and cluster mode.

One :class:`RedisClient` per configuration lives in the registry, so every backend object of
the process (Django makes one per thread and per async context) shares its connection pool.
It creates the redis-py client on first use, which is also when ``redis`` is imported.

Lambda freezes an instance between invocations; a server or NAT may close its idle sockets
meanwhile. redis-py's pool notices a closed socket when it hands the connection out, and a
connection error mid-command is retried once on a fresh connection. Timeouts are short and
not retried on a standalone server, so an unresponsive one costs one timeout, after which the
shared circuit breaker (:mod:`serverless_cache.resilience`) stops calling it for a cooldown.
(redis-py's cluster client retries once after refreshing its slot map, timeouts included: a
silent cluster node costs up to twice the timeout.)

Every operation is one round trip: ``get_many`` is one MGET, ``set_many`` one pipeline,
``incr`` one script that refuses a missing key. In cluster mode multi-key calls are split per
hash slot and sent as one cluster pipeline (one round trip per node), results in order.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, DecodeError
from serverless_cache.metrics import TierStats, stats_for
from serverless_cache.options import parse_options, require_choice, require_int, require_number
from serverless_cache.resilience import (
    UNREACHABLE,
    CircuitBreaker,
    ResilienceSettings,
    SharedClient,
)
from serverless_cache.tiers.base import MISSING, Tier

logger = logging.getLogger("serverless_cache")

SCHEMES: Final = ("redis", "rediss", "unix")
_GLOB_SPECIAL: Final = str.maketrans({c: "\\" + c for c in "*?[]\\"})

#: INCRBY that refuses to create the key, so a missing key is an error without a race.
INCR_EXISTING: Final = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "return redis.call('INCRBY', KEYS[1], ARGV[1]) end return false"
)
#: PERSIST that reports whether the key exists (PERSIST alone says whether a ttl was removed).
PERSIST_EXISTING: Final = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PERSIST', KEYS[1]) return 1 end "
    "return 0"
)


@dataclass(frozen=True)
class RedisSettings:
    """Connection options of the Redis tier; credentials may also come from the URL."""

    connect_timeout: float = 1.0
    socket_timeout: float = 1.0
    cluster: bool = False
    max_connections: int | None = None
    username: str | None = None
    password: str | None = None
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: str = "required"
    scan_count: int = 1000

    def __post_init__(self) -> None:
        require_number("connect_timeout", self.connect_timeout)
        require_number("socket_timeout", self.socket_timeout)
        if not isinstance(self.cluster, bool):
            raise ConfigurationError(f"option CLUSTER must be True or False, got {self.cluster!r}")
        require_int("max_connections", self.max_connections, minimum=1, optional=True)
        require_choice("ssl_cert_reqs", self.ssl_cert_reqs, ("required", "optional", "none"))
        require_int("scan_count", self.scan_count, minimum=1)

    def __repr__(self) -> str:
        return (
            f"RedisSettings(connect_timeout={self.connect_timeout!r}, "
            f"socket_timeout={self.socket_timeout!r}, cluster={self.cluster!r}, "
            f"password={'set' if self.password else 'None'})"
        )


def parse_locations(location: str | Sequence[str]) -> tuple[str, ...]:
    """URLs from a LOCATION string (separated by ``,`` or ``;``) or list; the first is primary."""
    raw = location.replace(";", ",").split(",") if isinstance(location, str) else list(location)
    urls = tuple(str(url).strip() for url in raw if str(url).strip())
    if not urls:
        raise ConfigurationError(
            "LOCATION of a Redis cache must be a URL such as 'redis://host:6379/0' "
            "(or several, the first being the primary)"
        )
    for url in urls:
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise ConfigurationError(
                f"Redis LOCATION {redact(url)!r} must start with redis://, rediss:// or unix://"
            )
    return urls


def redact(url: str) -> str:
    """``url`` without its credentials, for logs, reprs and metric names."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return text.translate(_GLOB_SPECIAL)


def _millis(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl * 1000))


_store_errors: tuple[type[BaseException], ...] = ()


def store_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the store failed" (redis imported on first call)."""
    global _store_errors
    if not _store_errors:
        from redis.exceptions import RedisClusterException, RedisError

        _store_errors = (RedisError, RedisClusterException, OSError)
    return _store_errors


def answered_errors() -> tuple[type[BaseException], ...]:
    """Error replies of a reachable server (WRONGTYPE on a foreign key...): not an outage."""
    from redis.exceptions import ResponseError

    return (ResponseError,)


class RedisClient:
    """Process-wide: the redis-py clients of one configuration and their circuit breaker.

    Clients are built on first use. Standalone: one pool for the primary (writes) and one per
    replica URL (reads). Cluster: one ``RedisCluster`` from all the URLs as startup nodes.
    """

    def __init__(
        self, urls: tuple[str, ...], settings: RedisSettings, breaker: CircuitBreaker
    ) -> None:
        self.urls = urls
        self.settings = settings
        self.breaker = breaker
        self._lock = threading.Lock()
        self._primary: Any = None
        self._replicas: list[Any] = []

    def __repr__(self) -> str:
        mode = "cluster" if self.settings.cluster else "standalone"
        return f"<RedisClient {mode} {', '.join(redact(url) for url in self.urls)}>"

    @property
    def cluster(self) -> bool:
        return self.settings.cluster

    def primary(self) -> Any:
        """The client for writes (the cluster client in cluster mode)."""
        return self._primary or self._connect()

    def reader(self) -> Any:
        """A client for reads: a replica when there are any, else the primary."""
        if self._primary is None:
            self._connect()
        replicas = self._replicas
        if not replicas:
            return self._primary
        return replicas[0] if len(replicas) == 1 else random.choice(replicas)

    def primaries(self) -> list[Any]:
        """One plain client per primary node: the primary, or each cluster primary."""
        client = self.primary()
        if not self.cluster:
            return [client]
        return [client.get_redis_connection(node) for node in client.get_primaries()]

    def _connect(self) -> Any:
        with self._lock:
            if self._primary is None:
                if self.cluster:
                    self._primary = self._make_cluster()
                else:
                    self._replicas = [self._make_standalone(url) for url in self.urls[1:]]
                    self._primary = self._make_standalone(self.urls[0])
            return self._primary

    def _common_kwargs(self, url: str) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.retry import Retry

        settings = self.settings
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": settings.connect_timeout,
            "socket_timeout": settings.socket_timeout,
            # A dropped connection is retried once on a new one; a timeout is never retried.
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            "retry_on_error": [RedisConnectionError],  # redis-py 5.0 needs both to retry
        }
        if settings.username is not None:
            kwargs["username"] = settings.username
        if settings.password is not None:
            kwargs["password"] = settings.password
        if urlsplit(url).scheme == "rediss":
            kwargs["ssl_cert_reqs"] = settings.ssl_cert_reqs
            if settings.ssl_ca_certs is not None:
                kwargs["ssl_ca_certs"] = settings.ssl_ca_certs
        return kwargs

    def _make_standalone(self, url: str) -> Any:
        import redis

        kwargs = self._common_kwargs(url)
        if self.settings.max_connections is not None:
            kwargs["max_connections"] = self.settings.max_connections
        pool = redis.ConnectionPool.from_url(url, **kwargs)
        return redis.Redis(connection_pool=pool)

    def _make_cluster(self) -> Any:
        from redis.backoff import NoBackoff
        from redis.cluster import ClusterNode, RedisCluster
        from redis.connection import parse_url
        from redis.retry import Retry

        nodes: list[ClusterNode] = []
        kwargs = self._common_kwargs(self.urls[0])
        del kwargs["retry"], kwargs["retry_on_error"]  # the cluster client has its own, below
        for url in self.urls:
            parsed = parse_url(url)  # type: ignore[no-untyped-call]
            host, port = parsed.pop("host", "localhost"), parsed.pop("port", 6379)
            nodes.append(ClusterNode(host, port))  # type: ignore[no-untyped-call]
            parsed.pop("db", None)
            if parsed.pop("connection_class", None) is not None:
                kwargs["ssl"] = True
            for name, value in parsed.items():
                kwargs.setdefault(name, value)
        if self.settings.max_connections is not None:
            kwargs["max_connections"] = self.settings.max_connections
        # One retry, after redis-py refreshed the slot map (a failover or a dropped socket).
        return RedisCluster(startup_nodes=nodes, retry=Retry(NoBackoff(), 1), **kwargs)

    # -- multi-key commands, split per hash slot in cluster mode --------------------------
    def mget(self, client: Any, keys: Sequence[str]) -> list[bytes | None]:
        if not self.cluster:
            return client.mget(keys)  # type: ignore[no-any-return]
        groups = _by_slot(client, keys)
        pipe = client.pipeline()
        for group in groups.values():
            pipe.execute_command("MGET", *group)
        found: dict[str, bytes | None] = {}
        for group, values in zip(groups.values(), pipe.execute(), strict=True):
            found.update(zip(group, values, strict=True))
        return [found[key] for key in keys]

    def unlink(self, client: Any, keys: Sequence[str]) -> None:
        if not self.cluster:
            client.unlink(*keys)
            return
        pipe = client.pipeline()
        for group in _by_slot(client, keys).values():
            pipe.execute_command("UNLINK", *group)
        pipe.execute()

    def close(self) -> None:
        """Disconnect every pooled connection (registry discard, SnapStart restore, tests)."""
        with self._lock:
            clients = [self._primary, *self._replicas] if self._primary is not None else []
            self._primary, self._replicas = None, []
        for client in clients:
            try:
                client.close()
            except store_errors():
                pass
            if not self.cluster:
                client.connection_pool.disconnect()


def _by_slot(cluster: Any, keys: Sequence[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for key in dict.fromkeys(keys):
        groups.setdefault(cluster.keyslot(key), []).append(key)
    return groups


class RedisTier(Tier):
    """A view onto a shared :class:`RedisClient` with its codec, counters and key prefix.

    ``prefix`` is the start of every key of this cache: ``clear()`` removes the keys under it
    (SCAN + UNLINK on every primary) and flushes the database only when it is empty.
    """

    kind = "redis"
    blocking = True

    def __init__(
        self,
        urls: tuple[str, ...],
        settings: RedisSettings,
        codec: Codec,
        stats: TierStats,
        resilience: ResilienceSettings,
        *,
        name: str,
        prefix: str = "",
    ) -> None:
        super().__init__(codec, stats)
        self.resilience = resilience
        self.name = name
        self.prefix = prefix
        self._shared = SharedClient(
            "redis",
            (urls, settings),
            lambda breaker: RedisClient(urls, settings, breaker),
            f"redis cache {name!r}",
            resilience,
            stats,
            store_errors,
            answered_errors,
        )
        self._run = self._shared.call

    @property
    def client(self) -> RedisClient:
        """The shared client, created on first use (without connecting), once per process."""
        return self._shared.client

    @classmethod
    def from_options(
        cls,
        location: str | Sequence[str],
        options: Mapping[str, Any] | None,
        *,
        prefix: str = "",
        name: str | None = None,
        where: str = "OPTIONS",
        ignore: frozenset[str] = frozenset(),
    ) -> RedisTier:
        """Build from LOCATION and OPTIONS (timeouts, CLUSTER, codec and fail-open options)."""
        if importlib.util.find_spec("redis") is None:
            raise ConfigurationError(
                "the Redis cache needs redis-py: pip install 'serverless-cache[redis]'"
            )
        urls = parse_locations(location)
        settings, codec, resilience = parse_options(
            options, RedisSettings, CodecSettings, ResilienceSettings, where=where, ignore=ignore
        )
        name = name or redact(urls[0])
        stats = stats_for(name, cls.kind)
        return cls(urls, settings, Codec(codec), stats, resilience, name=name, prefix=prefix)

    def __repr__(self) -> str:
        return f"<RedisTier {self.name!r} prefix={self.prefix!r} {self.client!r}>"

    def warm(self) -> None:
        """PING the primary now, so the first request does not pay for the connection."""
        self._run("ping", lambda: self.client.primary().ping(), None)

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        payload = self._run("get", lambda: self.client.reader().get(key), None)
        return self.counted(MISSING if payload is None else self.decode(key, payload), default)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        if not keys:
            return {}
        client = self.client
        payloads = self._run("get_many", lambda: client.mget(client.reader(), keys), None)
        if payloads is None:
            self.stats.misses += len(keys)
            return {}
        found: dict[str, Any] = {}
        loads = self.codec.loads
        for key, payload in zip(keys, payloads, strict=True):
            if payload is not None:
                try:
                    found[key] = loads(payload)
                except DecodeError:
                    self.decode(key, payload)  # the slow path logs and counts it
        self.stats.hits += len(found)
        self.stats.misses += len(keys) - len(found)
        return found

    def get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        """Values with their expiry in one round trip (a pipeline of GET and PTTL per key)."""
        if not keys:
            return {}

        def fetch() -> list[Any]:
            pipe = self.client.reader().pipeline(transaction=False)
            for key in keys:
                pipe.get(key)
                pipe.pttl(key)
            return pipe.execute()  # type: ignore[no-any-return]

        now = time.time()  # before the request: an expiry computed from it is never late
        replies = self._run("get_entries", fetch, None)
        if replies is None:
            self.stats.misses += len(keys)
            return {}
        result: dict[str, tuple[Any, float | None]] = {}
        for index, key in enumerate(keys):
            payload, remaining_ms = replies[2 * index], replies[2 * index + 1]
            if payload is None or remaining_ms == -2:
                continue
            value = self.decode(key, payload)
            if value is not MISSING:
                expires = None if remaining_ms < 0 else now + remaining_ms / 1000
                result[key] = (value, expires)
        self.stats.hits += len(result)
        self.stats.misses += len(keys) - len(result)
        return result

    def has(self, key: str) -> bool:
        return bool(self._run("has", lambda: self.client.reader().exists(key), 0))

    def ttl(self, key: str) -> float | None:
        remaining_ms = self._run("ttl", lambda: self.client.reader().pttl(key), -2)
        if remaining_ms == -1:
            return None
        return max(0.0, remaining_ms / 1000)

    def iter_keys(self, pattern: str) -> Iterator[str]:
        """Keys matching the glob ``pattern`` (SCAN, never KEYS), on every primary."""
        nodes: list[Any] = self._run("iter_keys", self.client.primaries, [])
        count = self.client.settings.scan_count
        for node in nodes:
            cursor = 0
            while True:

                def scan(node: Any = node, cursor: int = cursor) -> Any:
                    return node.scan(cursor, match=pattern, count=count)

                page = self._run("iter_keys", scan, None)
                if page is None:
                    return
                cursor, keys = page
                for key in keys:
                    yield key.decode()
                if cursor == 0:
                    break

    # -- writes ----------------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | None) -> bool:
        if ttl is not None and ttl <= 0:
            return self._run("set", lambda: self.client.primary().unlink(key) >= 0, False)
        payload = self.codec.dumps(value)
        px = _millis(ttl)
        stored = self._run("set", lambda: self.client.primary().set(key, payload, px=px), None)
        if stored:
            self.stats.sets += 1
        return bool(stored)

    def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        if not items:
            return []
        if ttl is not None and ttl <= 0:
            return [] if self.delete_many(list(items)) else list(items)
        # Encode everything first, so an unpicklable value raises before anything is written.
        payloads = [(key, self.codec.dumps(value)) for key, value in items.items()]
        px = _millis(ttl)

        def write() -> list[Any]:
            pipe = self.client.primary().pipeline(transaction=False)
            for key, payload in payloads:
                pipe.set(key, payload, px=px)
            return pipe.execute(raise_on_error=False)  # type: ignore[no-any-return]

        replies = self._run("set_many", write, None)
        if replies is None:
            return list(items)
        failed = [
            key for (key, _), reply in zip(payloads, replies, strict=True) if reply is not True
        ]
        if failed:
            logger.warning(
                "serverless_cache: redis cache %r could not store %d of %d keys (%s)",
                self.name,
                len(failed),
                len(payloads),
                next(r for r in replies if r is not True),
            )
        self.stats.sets += len(payloads) - len(failed)
        return failed

    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        if ttl is not None and ttl <= 0:
            return not self._run("add", lambda: self.client.primary().exists(key), 1)
        payload = self.codec.dumps(value)
        px = _millis(ttl)
        stored = self._run(
            "add", lambda: self.client.primary().set(key, payload, px=px, nx=True), None
        )
        if stored:
            self.stats.sets += 1
        return bool(stored)

    def delete(self, key: str) -> bool:
        self.stats.deletes += 1
        return bool(self._run("delete", lambda: self.client.primary().unlink(key), 0))

    def delete_many(self, keys: Sequence[str]) -> bool:
        if not keys:
            return True

        def unlink() -> bool:
            self.client.unlink(self.client.primary(), keys)
            return True

        self.stats.deletes += len(keys)
        return self._run("delete_many", unlink, False)

    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        def increment() -> Any:
            client = self.client.primary()
            try:
                if create:
                    return client.incrby(key, delta)
                return client.eval(INCR_EXISTING, 1, key, delta)
            except store_errors() as exc:
                if "not an integer" in str(exc) or "overflow" in str(exc):
                    raise TypeError(
                        f"cannot increment {key!r}: its value is not an integer"
                    ) from None
                raise

        result: Any = self._run("incr", increment, UNREACHABLE)
        if result is UNREACHABLE or result is None:
            raise KeyError(key)
        return int(result)

    def touch(self, key: str, ttl: float | None) -> bool:
        def expire() -> Any:
            client = self.client.primary()
            if ttl is None:
                return client.eval(PERSIST_EXISTING, 1, key)
            if ttl <= 0:
                return client.unlink(key)
            return client.pexpire(key, _millis(ttl))

        return bool(self._run("touch", expire, 0))

    def expire(self, key: str, ttl: float | None) -> bool:
        """Give ``key`` a new ttl (None: keep it forever); False if it is absent."""
        return self.touch(key, ttl)

    def persist(self, key: str) -> bool:
        """Remove ``key``'s expiry; False if it is absent."""
        return self.touch(key, None)

    def delete_pattern(self, pattern: str) -> int:
        """Remove the keys matching the glob ``pattern`` (SCAN + UNLINK); how many were found."""
        return self._run("delete_pattern", lambda: self._unlink_matching(pattern), 0)

    def clear(self) -> bool:
        if self.prefix:
            pattern = glob_escape(self.prefix) + "*"
            return self._run("clear", lambda: self._unlink_matching(pattern) >= 0, False)

        def flush() -> bool:
            for node in self.client.primaries():
                node.flushdb()
            return True

        return self._run("clear", flush, False)

    def _unlink_matching(self, pattern: str) -> int:
        count = 0
        batch = self.client.settings.scan_count
        for node in self.client.primaries():
            keys: list[str] = []
            for key in node.scan_iter(match=pattern, count=batch):
                keys.append(key.decode())
                if len(keys) >= batch:
                    self.client.unlink(self.client.primary(), keys)
                    count, keys = count + len(keys), []
            if keys:
                self.client.unlink(self.client.primary(), keys)
                count += len(keys)
        return count

    def lock(
        self, key: str, timeout: float | None, *, blocking_timeout: float | None = None
    ) -> RedisLock:
        """A lock held in the store, so it excludes every process using the same key.

        ``timeout`` (seconds) frees the lock if its holder dies; ``blocking_timeout`` bounds
        the wait to acquire it (None waits as long as it takes).
        """
        return RedisLock(self, key, timeout, blocking_timeout)


class RedisLock:
    """A context manager around redis-py's Lock; store failures raise CacheUnavailableError.

    A lock cannot fail open: granting it without the store would break mutual exclusion.
    """

    def __init__(
        self, tier: RedisTier, key: str, timeout: float | None, blocking_timeout: float | None
    ) -> None:
        self.tier = tier
        self.key = key
        self.timeout = timeout
        self.blocking_timeout = blocking_timeout
        self._lock: Any = None

    def acquire(self) -> bool:
        """Take the lock, waiting up to ``blocking_timeout``; False if it stayed taken."""
        try:
            self._lock = self.tier.client.primary().lock(
                self.key,
                timeout=self.timeout,
                blocking_timeout=self.blocking_timeout,
                thread_local=False,
            )
            return bool(self._lock.acquire())
        except store_errors() as exc:
            raise CacheUnavailableError(
                f"redis cache {self.tier.name!r}: lock {self.key!r} could not be taken "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def release(self) -> None:
        """Free the lock; a lock that expired meanwhile is logged, since others may hold it."""
        from redis.exceptions import LockNotOwnedError

        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            lock.release()
        except LockNotOwnedError:
            logger.warning(
                "serverless_cache: lock %r expired before it was released; raise its timeout",
                self.key,
            )
        except store_errors() as exc:
            raise CacheUnavailableError(
                f"redis cache {self.tier.name!r}: lock {self.key!r} could not be released "
                f"({type(exc).__name__}: {exc}); it frees itself after its timeout"
            ) from exc

    def __enter__(self) -> RedisLock:
        if not self.acquire():
            raise TimeoutError(
                f"lock {self.key!r} is held elsewhere; not acquired within {self.blocking_timeout}s"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
