"""Tags at the edge: which paths a CDN may hold under which tags, so that invalidating a tag
also purges them (one batched CloudFront invalidation).

``edge_cache(tags=[...])`` records each path it lets a shared cache keep, under each tag, in
a cache tier (so every instance sees what the others recorded): one slot per recording,
numbered by an atomic ``incr`` per tag, so concurrent instances lose nothing (no read-modify-
write of a list). A slot lives twice as long as the edge may keep the response; a process
records a (tag, path) again once half of that has passed, so a live edge copy always has a
live slot. :func:`purge` reads the recent slots of the tags in one call and invalidates
their paths.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from serverless_cache import clock, registry
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.http.policy import CachePolicy
from serverless_cache.tags import check_tags

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

#: Bookkeeping keys after the key prefix; a control character keeps them from user keys.
EDGE_MARK: Final = "\x1fedge-paths:"
#: Slots read per tag at most (the most recent ones); older slots have expired long since
#: unless a tag is recorded that often, and CloudFront takes 3,000 paths per invalidation.
MAX_SLOTS_PER_TAG: Final = 3000
#: Recordings this process remembers having made (then it forgets them all and records again).
MAX_REMEMBERED: Final = 50_000


def count_key(prefix: str, tag: str) -> str:
    return f"{prefix}{EDGE_MARK}{tag}"


def slot_key(prefix: str, tag: str, number: int) -> str:
    return f"{prefix}{EDGE_MARK}{tag}#{number}"


def edge_lifetime(policy: CachePolicy) -> int | None:
    """Seconds a shared cache may keep a response with ``policy`` (stale directives
    included); None when no shared cache may keep it."""
    if not policy.is_shared or policy.shared_max_age is None:
        return None
    extra = (policy.stale_while_revalidate or 0) + (policy.stale_if_error or 0)
    return policy.shared_max_age + extra


class Recordings:
    """Process-wide: the (cache, tag, path) recordings made, and until when they hold."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.until: dict[tuple[Any, str, str], float] = {}

    def due(self, key: tuple[Any, str, str]) -> bool:
        return self.until.get(key, 0.0) <= clock.monotonic()

    def made(self, key: tuple[Any, str, str], lifetime: float) -> None:
        with self.lock:
            if len(self.until) >= MAX_REMEMBERED:
                self.until.clear()
            self.until[key] = clock.monotonic() + lifetime / 2

    def clear(self) -> None:
        with self.lock:
            self.until.clear()

    restore = reset = clear


def record(tier: Tier, tags: Sequence[str], path: str, lifetime: int) -> None:
    """Remember that the edge may keep ``path`` for ``lifetime`` seconds under ``tags``."""
    if lifetime <= 0:
        return
    recordings = registry.get_or_create("edge-tags", None, Recordings)
    prefix = tier.key_prefix
    for tag in check_tags(tags):
        key = (tier.identity, tag, path)
        if not recordings.due(key):
            continue
        try:
            number = tier.incr(count_key(prefix, tag), create=True)
        except (CacheUnavailableError, TypeError, OverflowError):
            continue  # unreachable (logged by the tier), or a foreign value: try next time
        if tier.set(slot_key(prefix, tag, number), path, 2.0 * lifetime):
            recordings.made(key, lifetime)


def paths(tier: Tier, tags: Sequence[str]) -> list[str]:
    """The paths recorded under any of ``tags`` and maybe still at the edge (two reads)."""
    prefix = tier.key_prefix
    checked = check_tags(tags)
    counts = tier.get_many([count_key(prefix, tag) for tag in checked])
    slots: list[str] = []
    for tag in checked:
        count = counts.get(count_key(prefix, tag))
        if type(count) is int and count > 0:
            first = max(1, count - MAX_SLOTS_PER_TAG + 1)
            slots += [slot_key(prefix, tag, number) for number in range(first, count + 1)]
    found = tier.get_many(slots) if slots else {}
    return sorted({path for path in found.values() if isinstance(path, str)})


def purge(
    tier: Tier, tags: Sequence[str], distribution_id: str, *, client: Any = None
) -> list[str]:
    """Invalidate at the CloudFront distribution every path recorded under ``tags``; the
    invalidation ids (none when no path was recorded)."""
    from serverless_cache.aws.cloudfront import invalidate

    found = paths(tier, tags)
    return invalidate(distribution_id, found, client=client) if found else []


def invalidate_tags(
    tier: Tier, tags: Sequence[str], distribution_id: str | None, *, client: Any = None
) -> bool:
    """``tier.invalidate_tags(*tags)`` and, with a distribution, the CloudFront purge of the
    paths recorded under them; False when either failed (a failed purge is logged)."""
    stored = tier.invalidate_tags(*tags)
    if not distribution_id:
        return stored
    try:
        purge(tier, tags, distribution_id, client=client)
    except Exception as exc:  # botocore's errors: the cache side is done, say the edge is not
        tier.log.warning(
            "edge-purge", "CloudFront invalidation of tags %r failed (%s: %s)", list(tags),
            type(exc).__name__, exc,
        )  # fmt: skip
        return False
    return stored
