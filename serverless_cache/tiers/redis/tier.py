"""Redis / Valkey / ElastiCache tier: standalone (with read replicas), TLS and cluster mode.

Every operation is one round trip: ``get_many`` is one MGET, ``set_many`` one pipeline,
``incr`` one script that refuses a missing key, ``add`` one script that also leaves a short
lived write token, so that an ``add`` whose reply was lost can tell, on its retry, that it was
its own write that got stored. Timeouts are short; a dropped connection is retried once for
idempotent calls only (see :mod:`serverless_cache.resilience`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from serverless_cache import clock
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import ConfigurationError, install_hint, installed
from serverless_cache.options import require_choice, require_int, require_number
from serverless_cache.resilience import Fault, ResilienceSettings
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.base import MISSING
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.network import NetworkTier
from serverless_cache.tiers.redis.aio import AsyncRedisStore
from serverless_cache.tiers.redis.commands import (
    ADD_WITH_TOKEN,
    INCR_EXISTING,
    PERSIST_EXISTING,
    check_range,
    incr_error,
    millis,
    token_key,
)
from serverless_cache.tiers.redis.iam import region_of
from serverless_cache.tiers.redis.lock import RedisLock
from serverless_cache.tiers.redis.topology import RedisClient
from serverless_cache.tiers.redis.urls import glob_escape, parse_locations, redact


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
    iam_auth: bool = False
    iam_cache_name: str | None = None
    iam_region: str | None = None
    serverless: bool = False

    def __post_init__(self) -> None:
        require_number("connect_timeout", self.connect_timeout, minimum=0.001)
        require_number("socket_timeout", self.socket_timeout, minimum=0.001)
        if not isinstance(self.cluster, bool):
            raise ConfigurationError(f"option CLUSTER must be True or False, got {self.cluster!r}")
        require_int("max_connections", self.max_connections, minimum=1, optional=True)
        require_choice("ssl_cert_reqs", self.ssl_cert_reqs, ("required", "optional", "none"))
        require_int("scan_count", self.scan_count, minimum=1)
        for name in ("iam_auth", "serverless"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(
                    f"option {name.upper()} must be True or False, got {getattr(self, name)!r}"
                )
        if self.iam_auth:
            if not self.username or self.password is not None:
                raise ConfigurationError(
                    "option IAM_AUTH needs USERNAME (the ElastiCache user id, equal to its user "
                    "name) and no PASSWORD: the token is the password"
                )
            if not self.iam_cache_name:
                raise ConfigurationError(
                    "option IAM_AUTH needs IAM_CACHE_NAME: the replication group id, or the "
                    "serverless cache name"
                )

    @property
    def cluster_mode(self) -> bool:
        """ElastiCache Serverless is always a cluster."""
        return self.cluster or self.serverless

    def __repr__(self) -> str:
        return (
            f"RedisSettings(connect_timeout={self.connect_timeout!r}, "
            f"socket_timeout={self.socket_timeout!r}, cluster={self.cluster!r}, "
            f"password={'set' if self.password else 'None'}, iam_auth={self.iam_auth!r}, "
            f"serverless={self.serverless!r})"
        )


_store_errors: tuple[type[BaseException], ...] = ()


def store_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the store failed" (redis imported on first call)."""
    global _store_errors
    if not _store_errors:
        from redis.exceptions import RedisClusterException, RedisError

        _store_errors = (RedisError, RedisClusterException, OSError)
    return _store_errors


class RedisTier(NetworkTier):
    """A view onto a shared :class:`RedisClient` with its codec, counters and key prefix.

    LOCATION: one or more URLs, the first the primary. ``clear()`` removes the keys under the
    key prefix (SCAN + UNLINK on every primary) and flushes the database only without one.
    """

    kind = "redis"

    def __init__(
        self,
        config: TierConfig,
        urls: tuple[str, ...],
        settings: RedisSettings,
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
                "redis",
                (urls, settings),
                lambda breaker: RedisClient.create(urls, settings, breaker),
            ),
            label=f"redis cache {config.name!r}",
        )
        self.settings = settings
        self.prefix = config.key_prefix
        if not (settings.cluster_mode or settings.iam_auth):  # those keep the worker thread
            self.aio = AsyncRedisStore(self)

    @classmethod
    def from_config(cls, config: TierConfig) -> RedisTier:
        """OPTIONS: timeouts, CLUSTER, credentials, TLS, fail-open, codec and stampede."""
        if not installed("redis"):
            raise ConfigurationError(f"the Redis cache needs redis-py: {install_hint('redis')}")
        refuse_local_limits(config, "a Redis cache is bounded by its server (maxmemory)")
        urls = parse_locations(config.locations())
        settings, codec, stampede, resilience = config.parse(
            RedisSettings, CodecSettings, StampedeSettings, ResilienceSettings
        )
        needs_tls = settings.iam_auth or settings.serverless
        if needs_tls and any(not url.startswith("rediss://") for url in urls):
            raise ConfigurationError(
                "options IAM_AUTH and SERVERLESS need TLS: every LOCATION must be rediss://"
            )
        if settings.iam_auth:
            settings = replace(settings, iam_region=region_of(settings.iam_region))
        if not config.name:
            config = replace(config, name=redact(urls[0]))
        return cls(config, urls, settings, Codec(codec), stampede, resilience)

    @property
    def client(self) -> RedisClient:
        """The shared client, created on first use (without connecting), once per process."""
        client: RedisClient = self._shared.client
        return client

    def __repr__(self) -> str:
        return f"<RedisTier {self.name!r} prefix={self.prefix!r} {self.client!r}>"

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        from redis import exceptions as errors

        if isinstance(exc, errors.RedisClusterException) and "slot" in str(exc):
            return Fault.ANSWERED  # the keys of one call map to several slots: not an outage
        if isinstance(exc, errors.ClusterError | errors.ReadOnlyError):
            return Fault.FAILED
        if isinstance(exc, errors.ResponseError):
            return Fault.ANSWERED
        if isinstance(exc, errors.TimeoutError | TimeoutError):
            return Fault.FAILED
        if isinstance(exc, errors.ConnectionError | ConnectionError):
            return Fault.DROPPED
        if isinstance(exc, errors.RedisError | errors.RedisClusterException | OSError):
            return Fault.FAILED
        return None

    def warm(self) -> None:
        """PING the primary now, so the first request does not pay for the connection."""
        self._run("ping", lambda: self.client.primary().ping(), None)

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        payload = self._run("get", lambda: self.client.reader().get(key), None, reads=[key])
        return self._answer(MISSING if payload is None else self._value(key, payload), default)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """Tier.get_many written out for speed: MGET's replies decoded in one pass."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        none: dict[str, bytes | None] = {}  # the answer of an unreachable store
        payloads = self._run("get_many", lambda: self._mget(unique), none, reads=unique)
        # Decoded outside the guard: its latency is the store's, and a reply the journal
        # discards is never unpickled.
        found = self.codec.loads_many(payloads.items(), self.undecodable)
        return self._counted(len(unique), self._checked(found))

    def _mget(self, keys: Sequence[str]) -> dict[str, bytes | None]:
        """MGET's replies by key (None: absent): a mapping, as the journal filters by key."""
        return dict(zip(keys, self.client.mget(keys), strict=True))

    def _get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        payloads = self.client.mget(keys)
        return {key: raw for key, raw in zip(keys, payloads, strict=True) if raw is not None}

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[bytes, float | None]]:
        """Values with their expiry in one round trip (a pipeline of GET and PTTL per key;
        for a single key, the client's cheaper :meth:`~RedisClient.get_with_pttl`)."""
        now = clock.time()  # before the request: an expiry computed from it is never late
        if len(keys) == 1:
            payload, remaining_ms = self.client.get_with_pttl(keys[0])
            if payload is None or remaining_ms == -2:
                return {}
            return {keys[0]: (payload, None if remaining_ms < 0 else now + remaining_ms / 1000)}
        pipe = self.client.reader().pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.pttl(key)
        replies = pipe.execute()
        result: dict[str, tuple[bytes, float | None]] = {}
        for index, key in enumerate(keys):
            payload, remaining_ms = replies[2 * index], replies[2 * index + 1]
            if payload is not None and remaining_ms != -2:
                result[key] = (payload, None if remaining_ms < 0 else now + remaining_ms / 1000)
        return result

    def _ttl(self, key: str) -> float | None:
        remaining_ms: int = self.client.reader().pttl(key)
        if remaining_ms == -1:
            return None
        return max(0.0, remaining_ms / 1000)

    def iter_keys(self, pattern: str) -> Iterator[str]:
        """Keys matching the glob ``pattern`` (SCAN, never KEYS), on every primary."""
        nodes: list[Any] = self._run("iter_keys", self.client.primaries, [])
        count = self.settings.scan_count
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
    def _set_many(self, encoded: Mapping[str, bytes], ttl: float | None) -> list[str]:
        px = millis(ttl)
        if len(encoded) == 1:
            ((key, payload),) = encoded.items()
            return [] if self.client.primary().set(key, payload, px=px) else [key]
        pipe = self.client.primary().pipeline(transaction=False)
        for key, payload in encoded.items():
            pipe.set(key, payload, px=px)
        replies = pipe.execute(raise_on_error=False)
        return [key for key, reply in zip(encoded, replies, strict=True) if reply is not True]

    def _add(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        return self._add_script(key, encoded, ttl, token, retry=False)

    def _add_again(self, key: str, encoded: bytes, ttl: float | None, token: bytes) -> bool:
        return self._add_script(key, encoded, ttl, token, retry=True)

    def _add_script(
        self, key: str, encoded: bytes, ttl: float | None, token: bytes, *, retry: bool
    ) -> bool:
        marker = token_key(key, self.settings.cluster)
        client = self.client.primary()
        if marker is None:
            if retry:
                return super()._add_again(key, encoded, ttl, token)
            return bool(client.set(key, encoded, px=millis(ttl), nx=True))
        px = millis(ttl)
        args = (encoded, token, "" if px is None else px, "1" if retry else "0")
        return bool(client.eval(ADD_WITH_TOKEN, 2, key, marker, *args))

    def _delete_many(self, keys: Sequence[str]) -> int:
        return self.client.unlink(keys)

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        from redis.exceptions import ResponseError

        check_range(key, delta)
        client = self.client.primary()
        try:
            if create:
                return int(client.incrby(key, delta))
            result = client.eval(INCR_EXISTING, 1, key, delta)
        except ResponseError as exc:
            stored = client.get(key) if "out of range" in str(exc) else None
            error = incr_error(key, delta, exc, stored)
            if error is None:
                raise
            raise error from None
        return None if result is None else int(result)

    def _touch(self, key: str, ttl: float | None) -> bool:
        client = self.client.primary()
        if ttl is None:
            return bool(client.eval(PERSIST_EXISTING, 1, key))
        return bool(client.pexpire(key, millis(ttl) or 1))

    def expire(self, key: str, ttl: float | None) -> bool:
        """Give ``key`` a new ttl (None: keep it forever); False if it is absent."""
        return self.touch(key, ttl)

    def persist(self, key: str) -> bool:
        """Remove ``key``'s expiry; False if it is absent."""
        return self.touch(key, None)

    def delete_pattern(self, pattern: str) -> int:
        """Remove the keys matching the glob ``pattern`` (SCAN + UNLINK); how many were found."""
        return self._run("delete_pattern", lambda: self._unlink_matching(pattern), 0)

    def _clear(self) -> bool:
        if self.prefix:
            return self._unlink_matching(glob_escape(self.prefix) + "*") >= 0
        for node in self.client.primaries():
            node.flushdb()
        return True

    def _unlink_matching(self, pattern: str) -> int:
        count = 0
        batch = self.settings.scan_count
        for node in self.client.primaries():
            keys: list[str] = []
            for key in node.scan_iter(match=pattern, count=batch):
                keys.append(key.decode())
                if len(keys) >= batch:
                    self.client.unlink(keys)
                    count, keys = count + len(keys), []
            if keys:
                self.client.unlink(keys)
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
