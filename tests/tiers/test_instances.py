"""Instances as separate processes sharing real servers: what B sees of A's writes and tags.

Each instance is its own interpreter (tests/fixtures/instances.py), as each Lambda execution
environment is: its own L1, its own layered state, its own connections.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB, make_table
from tests.fixtures.instances import MISSING_VALUE, Instance

TIMEOUTS = {"CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5}
#: Longer than any test: an L1 copy is then removed by an invalidation or not at all.
NEVER = 1000


def layered(tier: dict[str, Any], **options: Any) -> tuple[str, dict[str, Any]]:
    tiers = [{"TIER": "memory", "CAP": NEVER}, tier]
    return "layered", {"options": {"TIERS": tiers, **options}, "key_prefix": "app:"}


def stack_config(request: pytest.FixtureRequest, stack: str) -> tuple[str, dict[str, Any]]:
    """(tier kind, TierConfig arguments) of a stack on this test's servers."""
    if "redis" in stack:
        url: str = request.getfixturevalue("redis_url")
        redis_tier = {"TIER": "redis", "LOCATION": url, "OPTIONS": TIMEOUTS}
        if stack == "layered-redis-push":
            return layered(redis_tier, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
        if stack == "layered-redis":
            return layered(redis_tier, EPOCH_CHECK_INTERVAL=1)
        return "redis", {"location": url, "options": TIMEOUTS, "key_prefix": "app:"}
    if stack == "memcached":
        url = request.getfixturevalue("memcached_url")
        return "memcached", {"location": url, "options": TIMEOUTS, "key_prefix": "app:"}
    server: LocalDynamoDB = request.getfixturevalue("moto_dynamodb")
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": server.endpoint_url, "READ_TIMEOUT": 5}
    table = make_table(server)
    if stack == "layered-dynamodb":
        return layered({"TIER": "dynamodb", "LOCATION": table, "OPTIONS": options})
    return "dynamodb", {"location": table, "options": options, "key_prefix": "app:"}


STACKS = [
    "redis",
    "memcached",
    "dynamodb",
    "layered-redis",
    "layered-redis-push",
    "layered-dynamodb",
]


@pytest.mark.parametrize("stack", STACKS)
def test_a_tag_invalidated_on_a_is_a_miss_on_b(
    request: pytest.FixtureRequest, instances: list[Instance], stack: str
) -> None:
    kind, config = stack_config(request, stack)
    a, b = Instance(kind, config), Instance(kind, config)
    instances += [a, b]
    assert a.call("set", key="app:page", value="v1", tags=["product:7"]) is True
    assert a.call("set", key="app:other", value="w", tags=["product:8"]) is True
    assert b.call("get", key="app:page") == "v1"
    assert b.call("get", key="app:page") == "v1"  # b's L1 copy, in layered stacks
    assert a.call("invalidate_tags", tags=["product:7"]) is True
    b.call("advance", seconds=2)  # past b's epoch check (polled layered stacks)
    assert b.call("get", key="app:page") == MISSING_VALUE
    assert b.call("get", key="app:other") == "w"
    assert a.call("get", key="app:page") == MISSING_VALUE


def test_push_reaches_b_without_waiting_for_its_epoch_check(
    request: pytest.FixtureRequest, instances: list[Instance]
) -> None:
    kind, config = stack_config(request, "layered-redis-push")
    a, b = Instance(kind, config), Instance(kind, config)
    instances += [a, b]
    a.call("set", key="app:k", value="old")
    a.call("set", key="app:t", value="tagged", tags=["t"])
    assert (b.call("get", key="app:k"), b.call("get", key="app:t")) == ("old", "tagged")
    assert b.call("in_l1", key="app:k") is True
    a.call("set", key="app:k", value="new")
    a.call("invalidate_tags", tags=["t"])
    assert b.call("get", key="app:k") == "new"  # no clock moved: the message said so
    assert b.call("get", key="app:t") == MISSING_VALUE
    memory = b.call("stats")["1:memory"]
    assert memory["invalidations"] >= 2 and memory["dropped"] >= 1


@pytest.mark.parametrize("invalidation", ["epoch", "push"])
def test_a_frozen_instance_thawed_after_a_remote_write(
    request: pytest.FixtureRequest, instances: list[Instance], invalidation: str
) -> None:
    """SIGSTOP is what Lambda does between invocations. With push, the thawed instance reads
    the message waiting on its socket before it serves the L1 copy; with the polled epoch
    (and a check interval longer than the test) it serves its L1 copy until its CAP."""
    kind, config = stack_config(request, "layered-redis-push")
    config["options"]["INVALIDATION"] = invalidation
    a, b = Instance(kind, config), Instance(kind, config)
    instances += [a, b]
    a.call("set", key="app:k", value="old")
    assert b.call("get", key="app:k") == "old"
    b.freeze()
    try:
        assert a.call("set", key="app:k", value="new") is True
    finally:
        b.thaw()
    expected = "new" if invalidation == "push" else "old"
    assert b.call("get", key="app:k") == expected
