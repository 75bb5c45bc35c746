"""The tag versions a process holds for its layered cache's in-process copies.

An L1 copy of a tagged entry is served only while each of its tags still has the version this
process holds; the versions are remembered when an entry is written or read from the last tier
(where they were just checked), read again in the batched epoch read, and forgotten when an
invalidation message names a tag's version key (push) or a read may have raced a write. A tag
whose version is not held makes its copies misses, checked against the last tier again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from serverless_cache import tags as tagging
from serverless_cache.tags import Tagged, tag_key
from serverless_cache.tiers.rules import MISSING

#: Versions held at most; past it they are all forgotten (each copy then misses once).
MAX_HELD_TAGS: Final = 10_000

Entries = dict[str, tuple[Any, float | None]]


class HeldTags:
    """Part of a layered cache's process-wide state."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    def remember(self, versions: tagging.Versions) -> None:
        held = self.versions
        if len(held) >= MAX_HELD_TAGS:
            held.clear()
        for tag, version in versions:
            if version != tagging.UNKNOWN:
                held[tag] = version

    def forget(self, tags: Sequence[str]) -> None:
        for tag in tags:
            self.versions.pop(tag, None)

    def clear(self) -> None:
        self.versions.clear()

    def current(self, value: Any) -> Any:
        """An L1 value, or MISSING for a Tagged one whose versions are not those held."""
        return tagging.valid(value, self.versions) if type(value) is Tagged else value

    def keep_current(self, entries: Entries) -> Entries:
        """The local entries whose tags have the versions held (Tagged values kept)."""
        return {k: e for k, e in entries.items() if self.current(e[0]) is not MISSING}

    def keys(self, prefix: str) -> dict[str, str]:
        """Version key -> tag, for the batched epoch read."""
        return {tag_key(prefix, tag): tag for tag in list(self.versions)}

    def refresh(self, keys: Mapping[str, str], found: Mapping[str, Any], trusted: bool) -> None:
        """Apply the versions just read (``found``, by version key); ``trusted`` is False when a
        write or a message may have raced the read, and then the tags are checked again."""
        for key, tag in keys.items():
            version = found.get(key)
            if trusted and type(version) is int:
                self.versions[tag] = version
            else:
                self.versions.pop(tag, None)


def untagged(entries: Mapping[str, tuple[Any, float | None]]) -> Entries:
    """Entries with their Tagged values unwrapped, for the caller."""
    return {
        key: (value.value if type(value) is Tagged else value, expires_at)
        for key, (value, expires_at) in entries.items()
    }
