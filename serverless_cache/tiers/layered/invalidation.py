"""What invalidates a layered cache's in-process copies: ``invalidate_tags`` on this instance,
and the keys a push invalidation message names (:mod:`serverless_cache.tiers.redis.tracking`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from serverless_cache import tags as tagging
from serverless_cache.tags import tag_of

if TYPE_CHECKING:
    from serverless_cache.tiers.layered.tier import LayeredTier


def invalidate_tags(layered: LayeredTier, tags: Sequence[str]) -> bool:
    """New versions of ``tags`` in the last tier, held at once by this instance; False when
    the store did not take them."""
    checked = tagging.check_tags(tags)
    state = layered.state
    state.count_write()
    versions = tagging.invalidate(layered.last, checked)
    state.tags.forget(checked)
    if versions is None:
        return False
    state.tags.remember(tuple(versions.items()))
    return True


def drop(layered: LayeredTier, keys: list[str] | None) -> None:
    """What an invalidation message names (None: everything) leaves every local tier."""
    state = layered.state
    state.count_write()  # a read in progress promotes nothing it read before
    if keys is None:
        state.tags.clear()
        for tier in layered.local_tiers:
            tier.clear()
        return
    for key in keys:
        tag = tag_of(layered.key_prefix, key)
        if tag is not None:
            state.tags.forget([tag])
        elif key == layered.epoch_key:
            state.next_check = 0.0
    for tier in layered.local_tiers:
        tier.stats.invalidations += len(keys)
        tier.stats.dropped += tier._delete_many(keys)
