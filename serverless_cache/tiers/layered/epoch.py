"""A layered cache's namespace epoch: a random token in the last tier that ``clear()`` and
``invalidate_all()`` replace; every instance reads it at most once per
``EPOCH_CHECK_INTERVAL`` (with the versions of the tags its L1 holds, in the same call) and
empties its in-process tiers when it moved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serverless_cache import clock
from serverless_cache.tiers.layered.state import new_epoch
from serverless_cache.tiers.rules import MISSING

if TYPE_CHECKING:
    from serverless_cache.tiers.layered.tier import LayeredTier

#: Suffix of the epoch key; a control character keeps it apart from user keys.
EPOCH_SUFFIX = "\x1flayered-epoch"


def check(layered: LayeredTier) -> None:
    """Read the shared epoch (one thread at a time) and empty local tiers if it moved."""
    state = layered.state
    if not state.check_lock.acquire(blocking=False):
        return
    try:
        state.next_check = clock.monotonic() + layered.settings.epoch_check_interval
        writes, held = state.writes, state.tags.keys(layered.key_prefix)
        found = layered.last.get_many([layered.epoch_key, *held])
        layered.stats.tag_fetches += len(held)
        state.tags.refresh(held, found, trusted=state.writes == writes)
        token = found.get(layered.epoch_key, MISSING)
        if token is MISSING:
            token = _start(layered)
            if token is MISSING:  # the shared tier is unreachable: keep serving L1
                return
        if token != state.epoch:
            for tier in layered.local_tiers:
                tier.clear()
            state.epoch = token
    finally:
        state.check_lock.release()


def _start(layered: LayeredTier) -> Any:
    """Create the epoch if absent; MISSING when the shared tier cannot be reached."""
    token = new_epoch()
    if layered.last.add(layered.epoch_key, token, None):
        return token
    return layered.last.get(layered.epoch_key, MISSING)


def bump(layered: LayeredTier) -> bool:
    """Replace the epoch: every instance empties its in-process tiers at its next check."""
    token = new_epoch()
    stored = layered.last.set(layered.epoch_key, token, None)
    if stored:
        layered.state.epoch = token
    return stored
