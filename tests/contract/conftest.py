"""The stacks every contract test runs on, each tier built through ``build_tier`` + ``TierConfig``.

A :class:`Stack` makes tiers of one kind on one store (``stack.make(**options)``) and reads the
store directly through ``stack.raw``, bypassing the tier and any proxy. Variants:

- ``stack``: every stack, store healthy (memory, Redis standalone, the same through the async
  API (``redis-async``: see tests/fixtures/async_api.py) and cluster, DynamoDB on moto
  and dynalite, Memcached, layered memory+Redis, memory+DynamoDB and memory+Memcached);
- ``shared_stack``: the same without the in-process memory tier;
- ``down_stack``: the store cannot be reached (a fault proxy in ``down`` mode; closed ports for
  the cluster, with a counting socket in ``stack.proxy`` for the breaker tests);
- ``lost_stack``: a fault proxy that can drop the store's replies (standalone stores only: a
  cluster client follows the node addresses the cluster announces, around any proxy).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from serverless_cache import clock
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.memcached.keys import generation_key, wire_key
from tests.fixtures.async_api import AsyncAPI
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB, make_table
from tests.fixtures.fault_proxy import FaultProxy, ProxyFactory
from tests.fixtures.memcached_servers import MemcachedServer
from tests.fixtures.redis_servers import RedisCluster, RedisServer, free_port

NORMAL = [
    "memory",
    "redis",
    "redis-async",
    "redis-cluster",
    "dynamodb-moto",
    "dynamodb-dynalite",
    "memcached",
    "layered-redis",
    "layered-dynamodb",
    "layered-memcached",
]
SHARED = NORMAL[1:]
LOST = [
    "redis",
    "redis-async",
    "dynamodb-moto",
    "dynamodb-dynalite",
    "memcached",
    "layered-redis",
    "layered-dynamodb",
    "layered-memcached",
]

#: Options of get_or_set, read by the layered tier itself rather than by its tiers.
STAMPEDE_OPTIONS = frozenset(StampedeSettings.__dataclass_fields__)
#: Options of the codec: a layered stack gives them to its memory tier and its shared tier.
CODEC_OPTIONS = frozenset(
    {"serializer", "compress_min_bytes", "compress_level", "signing_key", "pickle_protocol"}
)
#: Generous timeouts: no variant waits on a silent server (a down store refuses at once, a
#: lost reply closes the connection), and a local server on a busy machine can be slow.
REDIS_DEFAULTS = {"CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5}
DYNAMODB_DEFAULTS = {"REGION_NAME": REGION, "CONNECT_TIMEOUT": 5, "READ_TIMEOUT": 5}
MEMCACHED_DEFAULTS = {"CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5}


# -- direct access to the store, behind the tier's back ----------------------------------------
class Raw:
    """Reads and writes of the store that go straight to the server (never through a proxy)."""

    kind = ""

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def get_int(self, key: str) -> int | None:
        """The integer stored at ``key`` (as the tier stores integers), None if absent."""
        raise NotImplementedError

    def put_int(self, key: str, value: int) -> None:
        """Store ``value`` at ``key`` the way the tier stores integers."""
        raise NotImplementedError


class RedisRaw(Raw):
    kind = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client  # redis.Redis or redis.RedisCluster

    def exists(self, key: str) -> bool:
        return bool(self.client.exists(key))

    def get_int(self, key: str) -> int | None:
        raw = self.client.get(key)
        return None if raw is None else int(raw)

    def put_int(self, key: str, value: int) -> None:
        self.client.set(key, str(value).encode())

    def put_hash(self, key: str) -> None:
        """A hash at ``key``: every string command on it is answered with WRONGTYPE."""
        self.client.hset(key, "field", "value")


class DynamoDBRaw(Raw):
    kind = "dynamodb"

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def item(self, key: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={"k": {"S": key}}, ConsistentRead=True
        )
        return response.get("Item")  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        return self.item(key) is not None

    def get_int(self, key: str) -> int | None:
        item = self.item(key)
        return None if item is None else int(item["n"]["N"])

    def put_int(self, key: str, value: int) -> None:
        self.client.put_item(TableName=self.table, Item={"k": {"S": key}, "n": {"N": str(value)}})

    def put_text_number(self, key: str) -> None:
        """An item whose number attribute holds a string: DynamoDB answers ADD on it with a
        ValidationException (neither moto nor dynalite rejects ADD past 38 digits)."""
        self.client.put_item(TableName=self.table, Item={"k": {"S": key}, "n": {"S": "abc"}})


class MemcachedRaw(Raw):
    """Memcached keys carry their prefix's namespace generation: a key is found under the
    generation of the longest prefix of it that has one (the tier's key prefix)."""

    kind = "memcached"

    def __init__(self, client: Any) -> None:
        self.client = client  # a pymemcache Client of the one node

    def wire(self, key: str) -> bytes:
        for end in range(len(key), -1, -1):
            raw = self.client.get(generation_key(key[:end]))
            if raw is not None:
                return wire_key(int(raw), key)
        start = b"%d" % int(clock.time() * 1000)  # as the tier starts a namespace
        self.client.add(generation_key(""), start, expire=0, noreply=False)
        return wire_key(int(self.client.get(generation_key(""))), key)

    def exists(self, key: str) -> bool:
        return self.client.get(self.wire(key)) is not None

    def get_int(self, key: str) -> int | None:
        raw = self.client.get(self.wire(key))
        return None if raw is None else int(raw)

    def put_int(self, key: str, value: int) -> None:
        self.client.set(self.wire(key), str(value).encode(), noreply=False)

    def put_text(self, key: str) -> None:
        """Text memcached's incr refuses (and the codec cannot read)."""
        self.client.set(self.wire(key), b"abc", noreply=False)


# -- stacks --------------------------------------------------------------------------------------
Builder = Callable[[str, str, dict[str, Any]], Tier]


@dataclass
class Stack:
    """One kind of tier on one store, in one variant."""

    id: str
    variant: str
    builder: Builder
    raw: Raw | None
    #: The proxy in front of the store (for the cluster's down variant: a counting socket,
    #: used by :meth:`make_counted`).
    proxy: FaultProxy | None = None
    #: Builds on the proxy when :meth:`make` does not (the cluster's down variant).
    counted_builder: Builder | None = None
    #: Expiry decided by the server's clock (Redis): ``clock.advance`` cannot expire a key.
    server_clock: bool = False
    #: The server counts whole seconds (Memcached): a short ttl is one of them.
    whole_seconds: bool = False
    name: str = field(default_factory=lambda: f"contract-{uuid.uuid4().hex[:8]}")

    def make(self, *, key_prefix: str = "", name: str | None = None, **options: Any) -> Tier:
        """A tier of this stack; views made in one test share the store."""
        return self.builder(name or self.name, key_prefix, options)

    @staticmethod
    def errors(tier: Tier) -> int:
        """Failed calls counted for ``tier``: each is counted by the tier that had it, so for a
        layered stack by its inner tiers (the layered line counts hits and misses)."""
        inner: list[Tier] = getattr(tier, "tiers", [])
        return tier.stats.errors + sum(part.stats.errors for part in inner)

    def make_counted(self, **options: Any) -> Tier:
        """A tier whose every connection attempt goes through (and is counted by) ``proxy``."""
        builder = self.counted_builder or self.builder
        return builder(self.name, "", options)

    @property
    def short_ttl(self) -> float:
        """A ttl that :meth:`expire` outlives."""
        if self.whole_seconds:
            return 1.0
        return 0.3 if self.server_clock else 5.0

    def expire(self) -> None:
        """Let entries set with :attr:`short_ttl` expire: the clock moves, or real time passes."""
        if self.whole_seconds:
            time.sleep(self.short_ttl + 1.1)  # the server's clock ticks once a second
        elif self.server_clock:
            time.sleep(self.short_ttl + 0.2)
        else:
            clock.advance(self.short_ttl + 2)


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A layered stack's options: (the layered tier's own, its memory tier's, its shared tier's)."""
    own = {k: v for k, v in options.items() if k.lower() in STAMPEDE_OPTIONS}
    codec = {k: v for k, v in options.items() if k.lower() in CODEC_OPTIONS}
    shared = {k: v for k, v in options.items() if k.lower() not in STAMPEDE_OPTIONS}
    return own, codec, shared


def memory_builder(store: str) -> Builder:
    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        config = TierConfig(name=name, location=store, options=options, key_prefix=prefix)
        return build_tier("memory", config)

    return build


def redis_builder(location: str | list[str], cluster: bool = False) -> Builder:
    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        base: dict[str, Any] = {**REDIS_DEFAULTS, **({"CLUSTER": True} if cluster else {})}
        config = TierConfig(
            name=name, location=location, options={**base, **options}, key_prefix=prefix
        )
        return build_tier("redis", config)

    return build


def dynamodb_builder(table: str, endpoint_url: str) -> Builder:
    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        base = {**DYNAMODB_DEFAULTS, "ENDPOINT_URL": endpoint_url}
        config = TierConfig(
            name=name, location=table, options={**base, **options}, key_prefix=prefix
        )
        return build_tier("dynamodb", config)

    return build


def memcached_builder(location: str) -> Builder:
    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        config = TierConfig(
            name=name,
            location=location,
            options={**MEMCACHED_DEFAULTS, **options},
            key_prefix=prefix,
        )
        return build_tier("memcached", config)

    return build


def layered_builder(kind: str, location: str, defaults: dict[str, Any]) -> Builder:
    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        own, codec, shared = _split(options)
        tiers = [
            {"TIER": "memory", "CAP": 10, "OPTIONS": codec},
            {"TIER": kind, "LOCATION": location, "OPTIONS": {**defaults, **shared}},
        ]
        config = TierConfig(name=name, options={"TIERS": tiers, **own}, key_prefix=prefix)
        return build_tier("layered", config)

    return build


def awaited(builder: Builder, loop: asyncio.AbstractEventLoop) -> Builder:
    """``builder``'s tiers called through the contract's coroutines, on ``loop``."""

    def build(name: str, prefix: str, options: dict[str, Any]) -> Tier:
        return cast(Tier, AsyncAPI(builder(name, prefix, options), loop))

    return build


@pytest.fixture
def event_loop_for_test() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for a test's async calls, shut down as ``asyncio.run()`` does."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _redis_stack(request: pytest.FixtureRequest, stack_id: str, variant: str) -> Stack:
    server: RedisServer = request.getfixturevalue("redis_server")
    url: str = request.getfixturevalue("redis_url")  # emptied for this test
    raw = RedisRaw(server.client())
    proxy: FaultProxy | None = None
    if variant != "normal":
        make_proxy: ProxyFactory = request.getfixturevalue("fault_proxy")
        proxy = make_proxy(server.port, mode="down" if variant == "down" else "forward")
        url = f"redis://{proxy.address}/0"
    if stack_id == "layered-redis":
        builder = layered_builder("redis", url, REDIS_DEFAULTS)
    elif stack_id == "redis-async":
        builder = awaited(redis_builder(url), request.getfixturevalue("event_loop_for_test"))
    else:
        builder = redis_builder(url)
    return Stack(stack_id, variant, builder, raw, proxy, server_clock=True)


def _cluster_stack(request: pytest.FixtureRequest, variant: str) -> Stack:
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    urls: list[str] = request.getfixturevalue("redis_cluster_urls")  # emptied for this test
    raw = RedisRaw(cluster.client())
    if variant == "normal":
        return Stack("redis-cluster", variant, redis_builder(urls, True), raw, server_clock=True)
    # Down: every startup node is a closed port. The breaker tests count connection attempts
    # on a socket that closes each one; once forwarding, it leads the client to the cluster.
    make_proxy: ProxyFactory = request.getfixturevalue("fault_proxy")
    counter = make_proxy(cluster.nodes[0].port, mode="down")
    closed = [f"redis://127.0.0.1:{free_port()}" for _ in range(3)]
    return Stack(
        "redis-cluster",
        variant,
        redis_builder(closed, True),
        raw,
        counter,
        counted_builder=redis_builder([f"redis://{counter.address}"], True),
        server_clock=True,
    )


def _memcached_stack(request: pytest.FixtureRequest, stack_id: str, variant: str) -> Stack:
    server: MemcachedServer = request.getfixturevalue("memcached_server")
    url: str = request.getfixturevalue("memcached_url")  # emptied for this test
    raw = MemcachedRaw(server.client())
    proxy: FaultProxy | None = None
    if variant != "normal":
        make_proxy: ProxyFactory = request.getfixturevalue("fault_proxy")
        proxy = make_proxy(server.port, mode="down" if variant == "down" else "forward")
        url = f"memcached://{proxy.address}"
    if stack_id == "layered-memcached":
        builder = layered_builder("memcached", url, MEMCACHED_DEFAULTS)
    else:
        builder = memcached_builder(url)
    return Stack(stack_id, variant, builder, raw, proxy, server_clock=True, whole_seconds=True)


def _purge(client: Any, table: str) -> None:
    """Delete every item of ``table`` (a session table: creating one per test is slow)."""
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key={"k": item["k"]})


def _dynamodb_stack(request: pytest.FixtureRequest, stack_id: str, variant: str) -> Stack:
    server_kind = "moto" if stack_id in ("dynamodb-moto", "layered-dynamodb") else "dynalite"
    server: LocalDynamoDB = request.getfixturevalue(f"{server_kind}_dynamodb")
    tables: dict[str, tuple[Any, str]] = request.getfixturevalue("contract_tables")
    if server_kind not in tables:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=server.endpoint_url)
        tables[server_kind] = (client, make_table(server))
    client, table = tables[server_kind]
    _purge(client, table)
    raw = DynamoDBRaw(client, table)
    endpoint = server.endpoint_url
    proxy: FaultProxy | None = None
    if variant != "normal":
        make_proxy: ProxyFactory = request.getfixturevalue("fault_proxy")
        proxy = make_proxy(server.port, mode="down" if variant == "down" else "forward")
        endpoint = f"http://{proxy.address}"
    if stack_id == "layered-dynamodb":
        defaults = {**DYNAMODB_DEFAULTS, "ENDPOINT_URL": endpoint}
        builder = layered_builder("dynamodb", table, defaults)
    else:
        builder = dynamodb_builder(table, endpoint)
    return Stack(stack_id, variant, builder, raw, proxy)


def make_stack(request: pytest.FixtureRequest, stack_id: str, variant: str) -> Stack:
    if stack_id == "memory":
        return Stack("memory", variant, memory_builder(f"contract-{uuid.uuid4().hex[:8]}"), None)
    if stack_id in ("redis", "redis-async", "layered-redis"):
        return _redis_stack(request, stack_id, variant)
    if stack_id == "redis-cluster":
        return _cluster_stack(request, variant)
    if stack_id in ("memcached", "layered-memcached"):
        return _memcached_stack(request, stack_id, variant)
    return _dynamodb_stack(request, stack_id, variant)


@pytest.fixture(scope="session")
def contract_tables() -> dict[str, tuple[Any, str]]:
    """One cache table per DynamoDB server for the session (raw client, table name),
    emptied before each test; the in-memory servers drop them when they stop."""
    return {}


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """Every test starts and ends on the real clock, whatever it advanced."""
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(params=NORMAL)
def stack(request: pytest.FixtureRequest) -> Stack:
    """Every stack, its store healthy."""
    return make_stack(request, request.param, "normal")


@pytest.fixture(params=SHARED)
def shared_stack(request: pytest.FixtureRequest) -> Stack:
    """Every stack whose store is shared (not in process), healthy."""
    return make_stack(request, request.param, "normal")


@pytest.fixture(params=SHARED, ids=[f"{stack_id}-down" for stack_id in SHARED])
def down_stack(request: pytest.FixtureRequest) -> Stack:
    """Every shared stack with its store unreachable."""
    return make_stack(request, request.param, "down")


@pytest.fixture(params=LOST, ids=[f"{stack_id}-lost" for stack_id in LOST])
def lost_stack(request: pytest.FixtureRequest) -> Stack:
    """Every standalone shared stack behind a proxy that can drop the store's replies."""
    stack = make_stack(request, request.param, "lost")
    assert stack.proxy is not None
    return stack
