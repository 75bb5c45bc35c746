"""Contract rules 5 and 6 on every stack: add stores only when absent, incr, touch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import DynamoDBRaw, MemcachedRaw, RedisRaw, Stack


# -- add -------------------------------------------------------------------------------------------
def test_add_is_true_exactly_when_it_stored(stack: Stack) -> None:
    tier = stack.make()
    assert tier.add("k", "first", None) is True
    assert tier.get("k") == "first"
    assert tier.add("k", "second", None) is False
    assert tier.get("k") == "first"


def test_add_keeps_its_ttl(stack: Stack) -> None:
    tier = stack.make()
    assert tier.add("k", "v", 100) is True
    left = tier.ttl("k")
    assert left is not None and 98 < left <= 101
    assert tier.add("forever", "v", None) is True
    assert tier.ttl("forever") is None


def test_add_stores_again_once_the_key_is_deleted_or_expired(stack: Stack) -> None:
    tier = stack.make()
    assert tier.add("k", "first", None) is True
    assert tier.delete("k") is True
    assert tier.add("k", "second", None) is True
    assert tier.get("k") == "second"
    assert tier.add("short", "first", stack.short_ttl) is True
    stack.expire()
    assert tier.add("short", "second", None) is True
    assert tier.get("short") == "second"


def test_add_of_a_stored_none_is_false(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("none", None, None) is True
    assert tier.add("none", "value", None) is False
    assert tier.get("none", "default") is None


# -- delete and touch ------------------------------------------------------------------------------
def test_delete_says_whether_the_key_was_present(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "v", None) is True
    assert tier.delete("k") is True
    assert tier.delete("k") is False
    assert tier.has("k") is False


def test_touch_gives_a_present_key_a_new_ttl(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "v", 10) is True
    assert tier.touch("k", 1000) is True
    left = tier.ttl("k")
    assert left is not None and 998 < left <= 1001
    assert tier.touch("k", None) is True
    assert tier.ttl("k") is None
    assert tier.get("k") == "v"


def test_touch_of_an_absent_key_is_false_and_stores_nothing(stack: Stack) -> None:
    tier = stack.make()
    assert tier.touch("absent", 100) is False
    assert tier.touch("absent", None) is False
    assert tier.has("absent") is False


def test_touch_with_a_short_ttl_expires_the_key(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "v", None) is True
    assert tier.touch("k", stack.short_ttl) is True
    stack.expire()
    assert tier.get("k", "gone") == "gone"
    assert tier.touch("k", 100) is False


# -- incr ------------------------------------------------------------------------------------------
def test_incr_adds_and_returns_the_new_integer(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("n", 10, None) is True
    result = tier.incr("n")
    assert result == 11 and type(result) is int
    assert tier.incr("n", 5) == 16
    assert tier.get("n") == 16


def test_decr_is_incr_with_a_negative_delta(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("n", 2, None) is True
    assert tier.incr("n", -5) == -3
    assert tier.incr("n", -1) == -4
    assert tier.get("n") == -4


def test_incr_of_a_missing_key_is_a_key_error_and_stores_nothing(stack: Stack) -> None:
    tier = stack.make()
    with pytest.raises(KeyError):
        tier.incr("absent")
    with pytest.raises(KeyError):
        tier.incr("absent", -1)
    assert tier.has("absent") is False
    if stack.raw is not None:
        assert stack.raw.exists("absent") is False


def test_incr_with_create_starts_from_zero(stack: Stack) -> None:
    tier = stack.make()
    assert tier.incr("counter", 3, create=True) == 3
    assert tier.incr("counter", 3, create=True) == 6
    assert tier.incr("negative", -2, create=True) == -2
    assert tier.get_many(["counter", "negative"]) == {"counter": 6, "negative": -2}


@pytest.mark.parametrize("stored", ["abc", "12", 2.5, [1], None], ids=repr)
def test_incr_of_a_non_integer_value_is_a_type_error(stack: Stack, stored: Any) -> None:
    tier = stack.make()
    assert tier.set("k", stored, None) is True
    with pytest.raises(TypeError):
        tier.incr("k")
    with pytest.raises(TypeError):
        tier.incr("k", 1, create=True)
    assert tier.get("k", "gone") == stored


def test_incr_of_a_value_of_another_store_type_is_a_type_error(shared_stack: Stack) -> None:
    """A key another client wrote with a type incr cannot add to (a Redis hash, a DynamoDB
    string where the tier keeps numbers): the store answered, so it is not unavailability."""
    raw = shared_stack.raw
    if isinstance(raw, RedisRaw):
        raw.put_hash("foreign")
    elif isinstance(raw, MemcachedRaw):
        raw.put_text("foreign")
    else:
        assert isinstance(raw, DynamoDBRaw)
        raw.put_text_number("foreign")
    tier = shared_stack.make()
    with pytest.raises(TypeError):
        tier.incr("foreign")
    assert raw.exists("foreign")


@pytest.mark.parametrize("delta", [1.5, "1", None, 2.0], ids=repr)
def test_a_non_integer_delta_is_a_type_error_and_stores_nothing(stack: Stack, delta: Any) -> None:
    tier = stack.make()
    assert tier.set("n", 10, None) is True
    with pytest.raises(TypeError):
        tier.incr("n", delta)
    with pytest.raises(TypeError):
        tier.incr("created", delta, create=True)
    assert tier.get("n") == 10
    assert tier.has("created") is False


def test_incr_leaves_the_expiry_unchanged(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("n", 10, 100) is True
    assert tier.set("forever", 1, None) is True
    assert tier.incr("n", 5) == 15
    assert tier.incr("forever") == 2
    left = tier.ttl("n")
    assert left is not None and 98 < left <= 101
    assert tier.ttl("forever") is None


def test_incr_does_not_revive_an_expired_counter(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("n", 10, stack.short_ttl) is True
    assert tier.incr("n") == 11
    stack.expire()
    with pytest.raises(KeyError):
        tier.incr("n")
    assert tier.incr("n", 1, create=True) == 1
