"""The layered tier over real shared stores, with Lambda instances simulated as processes.

Each instance is a spawned process with its own execution-context L1 and its own process-wide
state, sharing one private redis-server (or one DynamoDB server, moto and dynalite) with the
others, as Lambda instances share ElastiCache. The bounds asserted are the ones the layered
tier promises: the L1 CAP for writes, EPOCH_CHECK_INTERVAL for clear().
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serverless_cache.errors import CacheUnavailableError
from serverless_cache.tiers.base import MISSING
from serverless_cache.tiers.memory import MemoryTier
from tests.fixtures.redis_servers import RedisServer
from tests.tiers import layered_instances
from tests.tiers.build import layered_tier

SPAWN = multiprocessing.get_context("spawn")
#: Clock granularity and process scheduling between "the call returned" and "we noted it".
SLACK = 0.1


def options(shared: list[dict[str, Any]], cap: float, **settings: Any) -> dict[str, Any]:
    return {"TIERS": [{"TIER": "memory", "CAP": cap}, *shared], **settings}


def run_instances(*targets: tuple[Callable[..., None], tuple[Any, ...]]) -> list[Any]:
    """Run each target in its own spawned process; return what each put on the queue."""
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=fn, args=(*args, results)) for fn, args in targets]
    for process in processes:
        process.start()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return reports


class SharedTierCases:
    """The cases every shared tier must pass; subclasses give the ``shared`` fixture."""

    #: A ttl that expires soon; a store that counts whole seconds needs a few of them.
    short_ttl = 1.0

    def test_a_write_on_one_instance_is_seen_by_another_within_the_cap(
        self,
        shared: list[dict[str, Any]],
    ) -> None:
        cap = 1.0
        config = options(shared, cap)
        layered_tier("setup", config).set("k", "v1", None)
        ready, done_at = SPAWN.Event(), SPAWN.Value("d", 0.0)
        reports = run_instances(
            (layered_instances.watch, (config, "k", ready, done_at, cap + 1.0)),
            (layered_instances.write, (config, "k", "v2", ready, done_at)),
        )
        watcher = next(r for r in reports if "samples" in r)
        writer = next(r for r in reports if "written_at" in r)
        assert watcher["first"] == "v1" and writer["stored"] is True
        assert watcher["l1_hits"] > 0
        deadline = writer["written_at"] + cap + SLACK
        late = [value for started, value in watcher["samples"] if started >= deadline]
        assert late and set(late) == {"v2"}
        values = [value for _, value in watcher["samples"]]
        first_new = values.index("v2")
        assert "v1" not in values[first_new:]

    def test_clear_on_one_instance_empties_another_l1_within_the_check_interval(
        self,
        shared: list[dict[str, Any]],
    ) -> None:
        interval = 0.5
        config = options(shared, 60, EPOCH_CHECK_INTERVAL=interval)
        layered_tier("setup", config).set("k", "v", None)
        ready, done_at = SPAWN.Event(), SPAWN.Value("d", 0.0)
        reports = run_instances(
            (layered_instances.watch, (config, "k", ready, done_at, interval + 1.0)),
            (layered_instances.clear, (config, ready, done_at)),
        )
        watcher = next(r for r in reports if "samples" in r)
        clearer = next(r for r in reports if "cleared_at" in r)
        assert watcher["first"] == "v" and clearer["cleared"] is True
        deadline = clearer["cleared_at"] + interval + SLACK
        late = [value for started, value in watcher["samples"] if started >= deadline]
        assert late and set(late) == {None}

    def test_a_promotion_never_outlives_the_source_entry(
        self, shared: list[dict[str, Any]]
    ) -> None:
        layered = layered_tier("promote", options(shared, 60))
        l1 = layered.first
        assert isinstance(l1, MemoryTier)
        layered.last.set("k", "v", self.short_ttl)
        assert layered.get("k") == "v"
        source_expires_at = layered.last.get_entries(["k"])["k"][1]
        assert source_expires_at is not None
        assert l1.store.data["k"].expires_at <= source_expires_at
        give_up = time.monotonic() + 10
        while layered.last.get("k", MISSING) is not MISSING and time.monotonic() < give_up:
            time.sleep(0.01)
        assert l1.get("k", MISSING) is MISSING
        assert layered.get("k", "gone") == "gone"

    @pytest.mark.parametrize("lease", [False, True])
    def test_a_cold_key_is_computed_once_per_process_or_once_with_the_lease(
        self, shared: list[dict[str, Any]], lease: bool
    ) -> None:
        config = options(shared, 10, LEASE=lease, LEASE_POLL_INTERVAL=0.02)
        start = SPAWN.Barrier(5)
        reports = run_instances(
            *[(layered_instances.stampede, (config, "cold", 50, start, 2.0)) for _ in range(5)]
        )
        assert all(report["values"] == ["computed"] * 50 for report in reports)
        computations = [report["computations"] for report in reports]
        if lease:
            assert sum(computations) == 1
        else:
            # Once per process at most: its 50 threads share one computation. Processes do not
            # coordinate, so several compute; one that starts late may find the value stored.
            assert set(computations) <= {0, 1} and sum(computations) >= 2


class TestOverRedis(SharedTierCases):
    @pytest.fixture
    def shared(self, redis_url: str) -> list[dict[str, Any]]:
        return [{"TIER": "redis", "LOCATION": redis_url}]


class TestOverMemcached(SharedTierCases):
    short_ttl = 3.0  # memcached's clock ticks in seconds: a 1 s item may live 0 to 1 s

    @pytest.fixture
    def shared(self, memcached_url: str) -> list[dict[str, Any]]:
        return [{"TIER": "memcached", "LOCATION": memcached_url}]


class TestOverDynamoDB(SharedTierCases):
    @pytest.fixture
    def shared(self, dynamodb_options: dict[str, Any]) -> list[dict[str, Any]]:
        # Five instances start boto3 at once on two cores: the timeouts are not under test here.
        options = {**dynamodb_options, "READ_TIMEOUT": 10, "CONNECT_TIMEOUT": 10}
        return [{"TIER": "dynamodb", "LOCATION": options.pop("TABLE_NAME"), "OPTIONS": options}]


# -- a shared tier that goes away ------------------------------------------------------------
@pytest.fixture
def doomed_server(tmp_path: Path) -> Any:
    """A private redis-server of this test alone, which the test may kill."""
    server = RedisServer(tmp_path / "doomed").start()
    yield server
    server.kill()


def test_l1_answers_while_redis_is_down_and_nothing_unaccepted_is_cached(
    doomed_server: RedisServer,
) -> None:
    redis_options = {"SOCKET_TIMEOUT": 0.3, "CONNECT_TIMEOUT": 0.3, "BREAKER_COOLDOWN": 0.3}
    layered = layered_tier(
        "outage",
        {
            "TIERS": [
                {"TIER": "memory", "CAP": 60},
                {"TIER": "redis", "LOCATION": doomed_server.url, "OPTIONS": redis_options},
            ],
            "EPOCH_CHECK_INTERVAL": 0.1,
            "LEASE": True,
        },
    )
    l1 = layered.first
    assert layered.set("hot", "v", 300) is True
    assert layered.set("counter", 1, 300) is True
    doomed_server.kill()
    time.sleep(0.2)  # an epoch check is due and will fail

    for _ in range(20):
        assert layered.get("hot") == "v"
    assert layered.get("cold", "default") == "default"
    assert layered.set("new", 1, 300) is False
    assert layered.set_many({"a": 1, "b": 2}, 300) == ["a", "b"]
    assert layered.add("added", 1, 300) is False
    with pytest.raises(CacheUnavailableError):
        layered.incr("counter")
    reads_before = layered.last.stats.misses
    assert layered.get_or_set("computed", lambda: 42, 300) == 42
    # the lease of an unreachable store is not awaited: no polling reads of it
    assert layered.last.stats.misses - reads_before < 10  # polling LEASE_WAIT would be 200
    for key in ("new", "a", "b", "added", "counter", "computed"):
        assert l1.get(key, MISSING) is MISSING, key
    assert layered.set("hot", "changed", 300) is False
    assert l1.get("hot", MISSING) is MISSING

    doomed_server.start()
    time.sleep(0.4)  # the breaker's cooldown
    deadline = time.monotonic() + 10
    while not layered.set("back", 1, 300) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert layered.get("back") == 1
    assert l1.get("back") == 1
