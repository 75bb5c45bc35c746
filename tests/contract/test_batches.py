"""Contract rules 3 and 4 on every stack: batches de-duplicate, and encode before writing."""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

from tests.contract.conftest import Stack

#: What an encoding failure may raise: the serializer's own error, or a typed one naming it.
ENCODING_ERRORS = (pickle.PicklingError, TypeError, ValueError, AttributeError)


def test_set_many_stores_every_item_with_the_ttl(stack: Stack) -> None:
    tier = stack.make()
    items = {f"item-{i}": [i] if i % 2 else i for i in range(30)}
    assert tier.set_many(items, 100) == []
    assert tier.get_many(list(items)) == items
    for key in ("item-0", "item-1"):
        left = tier.ttl(key)
        assert left is not None and 98 < left <= 101


def test_get_many_returns_only_present_keys_a_none_included(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set_many({"a": "A", "none": None}, None) == []
    assert tier.get_many(["a", "absent", "none"]) == {"a": "A", "none": None}


def test_get_many_asks_and_counts_duplicated_keys_once(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set_many({"a": 1, "b": None}, None) == []
    found = tier.get_many(["a", "a", "b", "absent", "b", "absent", "a"])
    assert found == {"a": 1, "b": None}
    assert tier.stats.hits == 2
    assert tier.stats.misses == 1


def test_delete_many_asks_and_counts_duplicated_keys_once(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set_many({"a": 1, "b": 2, "c": 3}, None) == []
    assert tier.delete_many(["a", "a", "b", "absent", "b"]) is True
    assert tier.stats.deletes == 3
    assert tier.get_many(["a", "b", "c"]) == {"c": 3}


def test_delete_many_of_absent_keys_is_still_true(stack: Stack) -> None:
    tier = stack.make()
    assert tier.delete_many(["absent", "other"]) is True
    assert tier.delete_many([]) is True


def test_empty_batches(stack: Stack) -> None:
    tier = stack.make()
    assert tier.get_many([]) == {}
    assert tier.get_entries([]) == {}
    assert tier.set_many({}, None) == []
    assert tier.stats.hits + tier.stats.misses == 0


@pytest.mark.parametrize("bad", [lambda: None, threading.Lock()], ids=["lambda", "lock"])
def test_set_many_encodes_every_value_before_writing_any(stack: Stack, bad: Any) -> None:
    tier = stack.make()
    assert tier.set("first", "old", None) is True
    items = {"first": "new", "second": {"x": 1}, "bad": bad, "last": 7}
    with pytest.raises(ENCODING_ERRORS):
        tier.set_many(items, None)
    assert tier.get_many(list(items)) == {"first": "old"}
    if stack.raw is not None:
        assert not any(stack.raw.exists(key) for key in ("second", "bad", "last"))
    with pytest.raises(ENCODING_ERRORS):
        tier.set_many({"bad": bad, "after": 1}, None)
    assert tier.has("after") is False
