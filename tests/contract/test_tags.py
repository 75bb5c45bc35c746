"""Tags on every stack: invalidate_tags makes each entry written with a tag a miss, everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from serverless_cache import clock
from serverless_cache.tags import TAG_MARK
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import Stack

#: Past a layered cache's EPOCH_CHECK_INTERVAL (1 s by default), within every CAP.
PAST_CHECK = 1.5


def _fetches(tier: Tier) -> int:
    inner: list[Tier] = getattr(tier, "tiers", [])
    return tier.stats.tag_fetches + sum(part.stats.tag_fetches for part in inner)


def test_invalidating_a_tag_misses_exactly_its_entries(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("a", {"v": "a"}, 100, tags=["product:1"]) is True
    assert tier.set_many({"b": "b", "c": "c"}, 100, tags=["product:1", "list"]) == []
    assert tier.add("d", "d", 100, tags=["list"]) is True
    assert tier.set("plain", "plain", 100) is True
    assert tier.get("a") == {"v": "a"}
    assert tier.get_many(["a", "b", "c", "d"]) == {"a": {"v": "a"}, "b": "b", "c": "c", "d": "d"}

    assert tier.invalidate_tags("product:1") is True
    assert tier.get("a") is None
    assert tier.get("b", "default") == "default"
    assert (tier.has("a"), tier.has("d")) == (False, True)  # has() agrees with get()
    assert tier.get_many(["a", "b", "c", "d", "plain"]) == {"d": "d", "plain": "plain"}

    assert tier.invalidate_tags("list", "unused") is True
    assert tier.get_many(["c", "d", "plain"]) == {"plain": "plain"}


def test_an_entry_written_after_the_invalidation_is_a_hit(stack: Stack) -> None:
    tier = stack.make()
    tier.set("k", "old", 100, tags=["t"])
    assert tier.invalidate_tags("t") is True
    assert tier.get("k") is None
    assert tier.set("k", "new", 100, tags=["t"]) is True
    assert tier.get("k") == "new"
    assert tier.get_entries(["k"])["k"][0] == "new"


def test_untagged_reads_fetch_no_versions(stack: Stack) -> None:
    tier = stack.make()
    tier.set("k", {"v": 1}, 100)
    tier.set_many({"a": 1, "b": [2]}, 100)
    for _ in range(3):
        assert tier.get("k") == {"v": 1}
        assert tier.get_many(["a", "b"]) == {"a": 1, "b": [2]}
    clock.advance(PAST_CHECK)
    assert tier.get("k") == {"v": 1}
    assert _fetches(tier) == 0


def test_get_or_set_with_tags_computes_again_after_an_invalidation(stack: Stack) -> None:
    tier = stack.make()
    calls: list[int] = []

    def compute() -> Any:
        calls.append(1)
        return {"n": len(calls)}

    assert tier.get_or_set("k", compute, 100, tags=["t"]) == {"n": 1}
    assert tier.get_or_set("k", compute, 100, tags=["t"]) == {"n": 1}
    assert tier.invalidate_tags("t") is True
    assert tier.get_or_set("k", compute, 100, tags=["t"]) == {"n": 2}
    assert len(calls) == 2


def test_an_invalidation_during_the_computation_is_not_lost(stack: Stack) -> None:
    tier = stack.make()

    def compute() -> str:
        tier.invalidate_tags("t")  # the data changed while we read it
        return "read before the change"

    assert tier.get_or_set("k", compute, 100, tags=["t"]) == "read before the change"
    assert tier.get("k") is None


def test_another_instance_sees_the_invalidation(shared_stack: Stack) -> None:
    """Two instances (their own L1 and state in layered stacks) share the store."""
    a = shared_stack.make(name=f"{shared_stack.name}-a")
    b = shared_stack.make(name=f"{shared_stack.name}-b")
    assert a.set("k", "v", 100, tags=["t"]) is True
    assert b.get("k") == "v"
    assert b.get("k") == "v"  # from b's L1 in layered stacks
    assert a.invalidate_tags("t") is True
    clock.advance(PAST_CHECK)  # a layered instance sees it at its next epoch check
    assert b.get("k") is None
    assert a.get("k") is None


def test_versions_are_read_by_instances_with_another_signing_key(shared_stack: Stack) -> None:
    a = shared_stack.make(name=f"{shared_stack.name}-a", SIGNING_KEY="old")
    b = shared_stack.make(name=f"{shared_stack.name}-b", SIGNING_KEY="new", SERIALIZER="json")
    assert a.set("k", ["v"], 100, tags=["t"]) is True
    assert b.set("j", ["w"], 100, tags=["t"]) is True
    assert (a.get("k"), b.get("j")) == (["v"], ["w"])
    assert b.invalidate_tags("t") is True
    clock.advance(PAST_CHECK)
    assert (a.get("k"), b.get("j")) == (None, None)


def test_the_version_lives_in_the_store_as_an_integer(shared_stack: Stack) -> None:
    tier = shared_stack.make(key_prefix="p:")
    tier.set("p:k", "v", 100, tags=["t"])
    raw = shared_stack.raw
    assert raw is not None
    version = raw.get_int("p:" + TAG_MARK + "t")
    assert isinstance(version, int) and version >= 0
    raw.put_int("p:" + TAG_MARK + "t", version + 1)  # what another instance's invalidation does
    clock.advance(PAST_CHECK)
    assert tier.get("p:k") is None


def test_clear_forgets_versions_and_entries(stack: Stack) -> None:
    tier = stack.make(key_prefix="p:")
    tier.set("p:k", "v", 100, tags=["t"])
    assert tier.clear() is True
    assert tier.get("p:k") is None
    assert tier.set("p:k", "again", 100, tags=["t"]) is True
    assert tier.get("p:k") == "again"


def test_bad_tags_are_refused_before_anything_is_written(stack: Stack) -> None:
    tier = stack.make()
    with pytest.raises(TypeError, match="tags=\\['product'\\]"):
        tier.set("k", "v", 100, tags="product")
    with pytest.raises(TypeError, match="non-empty string"):
        tier.set_many({"k": "v"}, 100, tags=[""])
    with pytest.raises(TypeError, match="non-empty string"):
        tier.invalidate_tags(1)  # type: ignore[arg-type]
    assert tier.has("k") is False


def test_an_unreachable_store_stores_no_tagged_entry(down_stack: Stack) -> None:
    tier = down_stack.make()
    assert tier.set("k", "v", 100, tags=["t"]) is False
    assert tier.invalidate_tags("t") is False
    assert tier.get("k") is None


def test_an_invalidation_that_could_not_be_sent_is_applied_once_back(lost_stack: Stack) -> None:
    """Auto-recovery deletes the version keys of an invalidation that may not have landed:
    a tag without a version matches no entry written before."""
    assert lost_stack.proxy is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    assert tier.set("k", "v", 100, tags=["t"]) is True
    assert tier.set("plain", "p", 100) is True
    assert tier.get("k") == "v"
    lost_stack.proxy.down()
    assert tier.invalidate_tags("t") is False
    lost_stack.proxy.forward()
    assert tier.get("k") is None
    assert tier.get("plain") == "p"
