"""Tags: one call makes every entry written with a tag a miss, on every instance.

Client-assisted, as FusionCache's tagging, but with version tokens instead of timestamps (no
clock has to agree across instances): each tag has one integer entry in the authoritative
tier, a random token that :func:`invalidate` replaces. A tagged entry is stored as a
:class:`Tagged` value carrying the tokens it was written under, and a read that finds any of
them replaced (or gone: evicted, cleared) is a miss. Untagged entries carry nothing and cost
nothing: only a :class:`Tagged` value leads to a version read, batched per call.

Tokens are integers because every tier stores integers natively, outside the codec, so an
instance with another SIGNING_KEY or SERIALIZER still reads them (as the layered epoch).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

#: Start of a tag's version key after the key prefix; a control character keeps it apart from
#: user keys (as the layered epoch's ``\x1flayered-epoch``).
TAG_MARK: Final = "\x1ftag:"
#: The version recorded when the current one could not be read nor created: it matches no
#: token (tokens are never negative), so such an entry is always a miss.
UNKNOWN: Final = -1

Versions = tuple[tuple[str, int], ...]


class Tagged(NamedTuple):
    """A stored value and the ``(tag, version)`` pairs it was written under."""

    value: Any
    versions: Versions

    @property
    def tags(self) -> list[str]:
        return [tag for tag, _ in self.versions]


def new_version() -> int:
    """A random version token (never negative, never UNKNOWN)."""
    return secrets.randbits(62)


def tag_key(prefix: str, tag: str) -> str:
    """Where the version of ``tag`` lives, under the cache's key prefix (``clear()`` drops it)."""
    return f"{prefix}{TAG_MARK}{tag}"


def tag_of(prefix: str, key: str) -> str | None:
    """The tag whose version key ``key`` is, None for any other key."""
    head = prefix + TAG_MARK
    return key[len(head) :] if key.startswith(head) else None


def check_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    """``tags`` as a tuple of unique, non-empty strings; TypeError naming what is wrong."""
    if tags is None:
        return ()
    if isinstance(tags, str | bytes):
        raise TypeError(f"tags must be a list of strings, not one string: use tags=[{tags!r}]")
    unique = tuple(dict.fromkeys(tags))
    for tag in unique:
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"each tag must be a non-empty string, got {tag!r}")
    return unique


def read_versions(source: Tier, tags: Iterable[str], asker: Tier) -> dict[str, int]:
    """The current version of each tag present in ``source`` (one batched read), counted as
    ``tag_fetches`` by ``asker``; an unreachable store answers with none."""
    keys = {tag_key(source.key_prefix, tag): tag for tag in tags}
    if not keys:
        return {}
    asker.stats.tag_fetches += len(keys)
    none: Mapping[str, Any] = {}
    names = list(keys)  # a version whose write may have been dropped reads as a miss
    raws = source._run("get_many", lambda: source._get_many(names), none, reads=names)
    found: dict[str, int] = {}
    for key, raw in raws.items():
        value = source._decode(key, raw)
        if type(value) is int:
            found[keys[key]] = value
    return found


def versions_for_write(source: Tier, tags: Sequence[str], asker: Tier) -> Versions:
    """The versions to write an entry under: the current ones, a new token for a tag that has
    none yet (created with ``add``, so concurrent writers agree), UNKNOWN if unreachable."""
    found = read_versions(source, tags, asker)
    for tag in tags:
        if tag in found:
            continue
        key, token = tag_key(source.key_prefix, tag), new_version()
        if _create(source, key, token):
            found[tag] = token
        else:  # another writer created it first, or the store cannot be reached
            found[tag] = read_versions(source, [tag], asker).get(tag, UNKNOWN)
    return tuple((tag, found[tag]) for tag in tags)


def _create(source: Tier, key: str, token: int) -> bool:
    """Store ``token`` at ``key`` if absent (the tier's ``add`` primitive, uncounted)."""
    encoded, marker = source._encode(key, token), os.urandom(12)
    return source._run("add", lambda: source._add(key, encoded, None, marker), False)


def invalidate(source: Tier, tags: Sequence[str]) -> dict[str, int] | None:
    """Give each tag a new version in ``source`` (one batched write); the new versions, or
    None when the store did not take them all (then, on network tiers, the invalidation is
    applied by auto-recovery once the store answers again)."""
    versions = {tag: new_version() for tag in tags}
    if not versions:
        return {}
    items = {tag_key(source.key_prefix, tag): token for tag, token in versions.items()}
    encoded = {key: source._encode(key, token) for key, token in items.items()}
    keys = list(encoded)
    # A version write that may not have landed is journaled: auto-recovery deletes the
    # version keys when the store answers again, which invalidates the tags all the same.
    failed = source._run("set_many", lambda: source._set_many(encoded, None), keys, writes=keys)
    return None if failed else versions


def valid(value: Tagged, current: Mapping[str, int]) -> Any:
    """The value of ``value`` if each of its tags still has its version, else MISSING."""
    from serverless_cache.tiers.rules import MISSING  # the codec imports this module first

    for tag, version in value.versions:
        if current.get(tag) != version:
            return MISSING
    return value.value


def resolve(
    source: Tier, found: Mapping[str, Any], asker: Tier, *, keep: bool = False
) -> dict[str, Any]:
    """``found`` (key -> decoded value) with every Tagged value checked against the versions
    in ``source`` (one read for all their tags): unwrapped (or kept wrapped with ``keep``)
    when current, left out when not. Untagged values pass as they are."""
    tagged = {key: value for key, value in found.items() if type(value) is Tagged}
    if not tagged:
        return dict(found)
    tags = {tag for value in tagged.values() for tag, _ in value.versions}
    current = read_versions(source, tags, asker)
    result: dict[str, Any] = {}
    for key, value in found.items():
        if type(value) is Tagged:
            checked = valid(value, current)
            if checked is _missing():
                continue
            value = value if keep else checked
        result[key] = value
    return result


def _missing() -> Any:
    from serverless_cache.tiers.rules import MISSING

    return MISSING
