"""Contract rules 1, 2 and 8 on every stack: values, a stored None, ttl, and clear by prefix."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from serverless_cache import clock
from serverless_cache.tiers.base import MISSING, Tier
from tests.contract.conftest import Stack

VALUES: list[Any] = [
    "text",
    "",
    b"\x00bytes",
    {"nested": [1, 2.5, None]},
    [1, "two"],
    (3, 4),
    None,
    0,
    -42,
    10**40,
    3.25,
    True,
]


def test_values_round_trip_with_their_type(stack: Stack) -> None:
    tier = stack.make()
    for number, value in enumerate(VALUES):
        assert tier.set(f"v{number}", value, None) is True
    for number, value in enumerate(VALUES):
        found = tier.get(f"v{number}", MISSING)
        assert found == value and type(found) is type(value), (number, found)


def test_a_stored_none_is_a_value(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("none", None, None) is True
    assert tier.get("none", "default") is None
    assert tier.has("none") is True
    assert tier.get_many(["none"]) == {"none": None}
    assert tier.stats.hits == 2 and tier.stats.misses == 0


def test_a_missing_key_gives_the_default(stack: Stack) -> None:
    tier = stack.make()
    assert tier.get("absent") is None
    assert tier.get("absent", "default") == "default"
    assert tier.get("absent", MISSING) is MISSING
    assert tier.has("absent") is False
    assert tier.stats.hits == 0 and tier.stats.misses == 3


def test_ttl_none_never_expires(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("forever", "v", None) is True
    assert tier.ttl("forever") is None
    clock.advance(10**7)  # the tiers that decide expiry by the clock see months pass
    assert tier.get("forever") == "v"
    assert tier.ttl("forever") is None


def test_ttl_of_an_absent_key_is_zero(stack: Stack) -> None:
    assert stack.make().ttl("absent") == 0.0


def test_ttl_counts_down_the_seconds_left(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "v", 100) is True
    left = tier.ttl("k")
    assert left is not None and 98 < left <= 101


def test_a_positive_ttl_expires(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("short", "v", stack.short_ttl) is True
    assert tier.get("short") == "v"
    stack.expire()
    assert tier.get("short", "gone") == "gone"
    assert tier.has("short") is False
    assert tier.ttl("short") == 0.0


@pytest.mark.parametrize("ttl", [0, -1, -0.5])
def test_set_with_ttl_zero_or_less_removes_the_key(stack: Stack, ttl: float) -> None:
    tier = stack.make()
    assert tier.set("k", "old", None) is True
    assert tier.set("k", "new", ttl) is True
    assert tier.get("k", "gone") == "gone"
    assert tier.has("k") is False
    if stack.raw is not None:
        assert stack.raw.exists("k") is False
    assert tier.set("never-there", "new", ttl) is True
    assert tier.get("never-there", "gone") == "gone"


def test_set_many_with_ttl_zero_removes_every_key(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set_many({"a": 1, "b": 2}, None) == []
    assert tier.set_many({"a": 10, "b": 20, "c": 30}, 0) == []
    assert tier.get_many(["a", "b", "c"]) == {}


def test_add_with_ttl_zero_keeps_nothing_and_answers_whether_the_key_was_absent(
    stack: Stack,
) -> None:
    tier = stack.make()
    assert tier.add("absent", "new", 0) is True
    assert tier.has("absent") is False
    assert tier.set("present", "old", None) is True
    assert tier.add("present", "new", 0) is False
    assert tier.get("present") == "old"


def test_touch_with_ttl_zero_removes_the_key_and_says_if_it_was_present(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "v", None) is True
    assert tier.touch("k", 0) is True
    assert tier.has("k") is False
    assert tier.touch("k", 0) is False


@pytest.mark.parametrize("ttl", [10**9, 10**20, 1e300])
def test_a_huge_ttl_means_never_expires(stack: Stack, ttl: float) -> None:
    tier = stack.make()
    assert tier.set("k", "v", ttl) is True
    assert tier.ttl("k") is None
    assert tier.get("k") == "v"
    assert tier.add("added", "v", ttl) is True and tier.ttl("added") is None
    assert tier.touch("added", ttl) is True and tier.ttl("added") is None


def _ttl_calls(tier: Tier, ttl: Any) -> list[Callable[[], Any]]:
    return [
        lambda: tier.set("k", "v", ttl),
        lambda: tier.set_many({"k": "v", "j": "w"}, ttl),
        lambda: tier.add("k", "v", ttl),
        lambda: tier.touch("k", ttl),
    ]


@pytest.mark.parametrize("ttl", ["10", b"10", [10]])
def test_a_ttl_that_is_not_a_number_is_a_type_error(stack: Stack, ttl: Any) -> None:
    tier = stack.make()
    for call in _ttl_calls(tier, ttl):
        with pytest.raises(TypeError):
            call()
    assert tier.get_many(["k", "j"]) == {}


def test_a_nan_ttl_is_a_value_error(stack: Stack) -> None:
    tier = stack.make()
    for call in _ttl_calls(tier, math.nan):
        with pytest.raises(ValueError):
            call()
    assert tier.get_many(["k", "j"]) == {}


def test_clear_with_a_prefix_removes_only_the_keys_under_it(stack: Stack) -> None:
    mine, theirs = stack.make(key_prefix="mine:"), stack.make(key_prefix="theirs:")
    assert mine.set_many({f"mine:{i}": i for i in range(20)}, None) == []
    assert theirs.set_many({f"theirs:{i}": i for i in range(20)}, None) == []
    assert mine.clear() is True
    assert mine.get_many([f"mine:{i}" for i in range(20)]) == {}
    assert theirs.get_many([f"theirs:{i}" for i in range(20)]) == {
        f"theirs:{i}": i for i in range(20)
    }
    if stack.raw is not None:
        assert not any(stack.raw.exists(f"mine:{i}") for i in range(20))
        assert all(stack.raw.exists(f"theirs:{i}") for i in range(20))


def test_get_entries_gives_each_value_with_its_epoch_expiry(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("forever", "f", None) is True
    assert tier.set("soon", "s", 100) is True
    entries = tier.get_entries(["forever", "soon", "absent", "soon"])
    assert set(entries) == {"forever", "soon"}
    assert entries["forever"] == ("f", None)
    value, expires_at = entries["soon"]
    assert value == "s" and expires_at is not None
    assert clock.time() + 98 < expires_at <= clock.time() + 101
