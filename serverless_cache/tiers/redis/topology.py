"""Who the Redis tier talks to: a standalone primary with read replicas, or a cluster.

One :class:`RedisClient` per configuration lives in the registry, so every backend object of
the process shares its connection pools. It creates the redis-py clients on first use, which
is also when ``redis`` is imported. redis-py's own retries are off: whether a call may be
retried is decided in :mod:`serverless_cache.resilience` (a write whose reply was lost must
not be applied twice). A socket the server closed while Lambda froze the process is noticed
and replaced when the pool hands it out, before any command is sent.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from serverless_cache.resilience import CircuitBreaker
from serverless_cache.tiers.redis.commands import GET_WITH_PTTL
from serverless_cache.tiers.redis.iam import IamTokenProvider, iam_connection_class

if TYPE_CHECKING:
    import redis

    from serverless_cache.tiers.redis.tier import RedisSettings


class RedisClient:
    """Process-wide: the redis-py clients of one configuration and their circuit breaker."""

    def __init__(
        self, urls: tuple[str, ...], settings: RedisSettings, breaker: CircuitBreaker
    ) -> None:
        self.urls = urls
        self.settings = settings
        self.breaker = breaker
        self._lock = threading.Lock()
        #: With IAM_AUTH: the token provider every new connection of this client asks.
        self.tokens: IamTokenProvider | None = None
        if settings.iam_auth:
            assert settings.username and settings.iam_cache_name and settings.iam_region
            self.tokens = IamTokenProvider(
                settings.username,
                settings.iam_cache_name,
                settings.iam_region,
                serverless=settings.serverless,
            )

    @staticmethod
    def create(
        urls: tuple[str, ...], settings: RedisSettings, breaker: CircuitBreaker
    ) -> RedisClient:
        cls = ClusterClient if settings.cluster_mode else StandaloneClient
        return cls(urls, settings, breaker)

    def __repr__(self) -> str:
        from serverless_cache.tiers.redis.urls import redact

        mode = "cluster" if self.settings.cluster_mode else "standalone"
        return f"<RedisClient {mode} {', '.join(redact(url) for url in self.urls)}>"

    def primary(self) -> Any:
        """The client for writes (the cluster client in cluster mode)."""
        raise NotImplementedError

    def reader(self) -> Any:
        """A client for reads: a replica when there are any, else the primary."""
        return self.primary()

    def primaries(self) -> list[redis.Redis]:
        """One plain client per primary node."""
        raise NotImplementedError

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """MGET from the reader, in key order."""
        raise NotImplementedError

    def get_with_pttl(self, key: str) -> tuple[bytes | None, int]:
        """GET and PTTL of ``key`` from the reader, in one round trip."""
        payload, remaining_ms = self.reader().eval(GET_WITH_PTTL, 1, key)
        return payload, remaining_ms

    def unlink(self, keys: Sequence[str]) -> int:
        """UNLINK on the primary; how many keys existed."""
        raise NotImplementedError

    def close(self) -> None:
        """Disconnect every pooled connection (registry discard, SnapStart restore, tests)."""

    def _common_kwargs(self, url: str) -> dict[str, Any]:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        settings = self.settings
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": settings.connect_timeout,
            "socket_timeout": settings.socket_timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        if self.tokens is not None:
            kwargs["credential_provider"] = self.tokens
        elif settings.username is not None:
            kwargs["username"] = settings.username
        if settings.password is not None:
            kwargs["password"] = settings.password
        if urlsplit(url).scheme == "rediss":
            kwargs["ssl_cert_reqs"] = settings.ssl_cert_reqs
            if settings.ssl_ca_certs is not None:
                kwargs["ssl_ca_certs"] = settings.ssl_ca_certs
        if settings.max_connections is not None:
            kwargs["max_connections"] = settings.max_connections
        return kwargs


class StandaloneClient(RedisClient):
    """One pool for the primary (writes) and one per replica URL (reads)."""

    def __init__(
        self, urls: tuple[str, ...], settings: RedisSettings, breaker: CircuitBreaker
    ) -> None:
        super().__init__(urls, settings, breaker)
        self._primary: redis.Redis | None = None
        self._replicas: list[redis.Redis] = []

    def primary(self) -> redis.Redis:
        return self._primary or self._connect()

    def reader(self) -> redis.Redis:
        primary = self._primary or self._connect()
        replicas = self._replicas
        if not replicas:
            return primary
        return replicas[0] if len(replicas) == 1 else random.choice(replicas)

    def primaries(self) -> list[redis.Redis]:
        return [self.primary()]

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.reader().mget(keys)  # type: ignore[return-value]

    def get_with_pttl(self, key: str) -> tuple[bytes | None, int]:
        """Both commands in one write on one pooled connection: the server runs them as
        fast as a GET, where a script costs it a Lua call and a pipeline object costs us
        more Python than the two replies."""
        pool = self.reader().connection_pool
        connection: Any = pool.get_connection()  # redis-py leaves Connection untyped
        try:
            connection.send_packed_command(connection.pack_commands([("GET", key), ("PTTL", key)]))
            return connection.read_response(), connection.read_response()
        except BaseException:
            connection.disconnect()  # a reply may be left unread on the socket
            raise
        finally:
            pool.release(connection)

    def unlink(self, keys: Sequence[str]) -> int:
        return self.primary().unlink(*keys)

    def _connect(self) -> redis.Redis:
        with self._lock:
            if self._primary is None:
                self._replicas = [self._make(url) for url in self.urls[1:]]
                self._primary = self._make(self.urls[0])
            return self._primary

    def _make(self, url: str) -> redis.Redis:
        import redis

        kwargs = self._common_kwargs(url)
        if self.tokens is not None:
            kwargs["connection_class"] = iam_connection_class()
        pool = redis.ConnectionPool.from_url(url, **kwargs)
        return redis.Redis(connection_pool=pool)

    def close(self) -> None:
        with self._lock:
            clients = [self._primary, *self._replicas] if self._primary is not None else []
            self._primary, self._replicas = None, []
        for client in clients:
            client.connection_pool.disconnect()


class ClusterClient(RedisClient):
    """One ``RedisCluster`` from all the URLs as startup nodes; multi-key calls are split per
    hash slot and sent as one cluster pipeline (one round trip per node), results in order."""

    def __init__(
        self, urls: tuple[str, ...], settings: RedisSettings, breaker: CircuitBreaker
    ) -> None:
        super().__init__(urls, settings, breaker)
        self._cluster: Any = None  # a RedisCluster; redis-py leaves most of it untyped

    def primary(self) -> Any:
        return self._cluster or self._connect()

    def primaries(self) -> list[redis.Redis]:
        cluster = self.primary()
        return [cluster.get_redis_connection(node) for node in cluster.get_primaries()]

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        cluster = self.primary()
        groups = self._by_slot(cluster, keys)
        pipe = cluster.pipeline()
        for group in groups.values():
            pipe.execute_command("MGET", *group)
        found: dict[str, bytes | None] = {}
        for group, values in zip(groups.values(), pipe.execute(), strict=True):
            found.update(zip(group, values, strict=True))
        return [found[key] for key in keys]

    def unlink(self, keys: Sequence[str]) -> int:
        cluster = self.primary()
        pipe = cluster.pipeline()
        for group in self._by_slot(cluster, keys).values():
            pipe.execute_command("UNLINK", *group)
        return sum(pipe.execute())

    @staticmethod
    def _by_slot(cluster: Any, keys: Sequence[str]) -> dict[int, list[str]]:
        groups: dict[int, list[str]] = {}
        for key in dict.fromkeys(keys):
            groups.setdefault(cluster.keyslot(key), []).append(key)
        return groups

    def _connect(self) -> Any:
        from redis.backoff import NoBackoff
        from redis.cluster import ClusterNode, RedisCluster
        from redis.connection import parse_url
        from redis.retry import Retry

        with self._lock:
            if self._cluster is not None:
                return self._cluster
            nodes: list[ClusterNode] = []
            kwargs = self._common_kwargs(self.urls[0])
            del kwargs["retry"]
            for url in self.urls:
                parsed: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
                host, port = parsed.pop("host", "localhost"), parsed.pop("port", 6379)
                nodes.append(ClusterNode(host, port))  # type: ignore[no-untyped-call]
                parsed.pop("db", None)
                if parsed.pop("connection_class", None) is not None:
                    kwargs["ssl"] = True
                for name, value in parsed.items():
                    kwargs.setdefault(name, value)
            # No retries here: redis-py would resend a write whose reply was lost. It still
            # refreshes its slot map after a connection error, so the guard's retry of an
            # idempotent call goes to the new primary.
            self._cluster = RedisCluster(startup_nodes=nodes, retry=Retry(NoBackoff(), 0), **kwargs)
            return self._cluster

    def close(self) -> None:
        with self._lock:
            cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()
