"""The Tier contract as coroutines: what async adapters (Django's ``a*`` methods) await.

Each function applies the rules of its sync twin through the same steps of the base
(``_answer``, ``_decoded``, ``_counted``, ``_finish_set``, ``_finish_add``, ``_finish_incr``),
awaiting the tier's store in asyncio (:attr:`Tier.aio`) under its guard (:meth:`Tier._arun`),
so no worker thread waits on the network. Where the sync path must answer (a tier without
``aio``, tags, fallback copies, dropped writes waiting to be undone: :meth:`Tier._awaitable`),
the sync method runs in a worker thread; an in-process tier is called directly, as it never
waits.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from serverless_cache.resilience import UNREACHABLE
from serverless_cache.tags import Tagged
from serverless_cache.tiers.rules import MISSING, check_delta, expiry

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

R = TypeVar("R")


class AsyncStore(Protocol):
    """A tier's primitives as coroutines (see :class:`Tier`), raising the store's errors;
    each waits for a free connection itself, outside its store timeout."""

    async def get(self, key: str) -> Any:
        """The raw stored form of ``key``, or MISSING."""

    async def get_many(self, keys: Sequence[str]) -> Mapping[str, Any]: ...
    async def set_many(self, encoded: Mapping[str, Any], ttl: float | None) -> list[str]: ...
    async def add(
        self, key: str, encoded: Any, ttl: float | None, token: bytes, *, again: bool
    ) -> bool: ...
    async def delete_many(self, keys: Sequence[str]) -> int: ...
    async def incr(self, key: str, delta: int, create: bool) -> int | None: ...
    async def touch(self, key: str, ttl: float | None) -> bool: ...


async def run_sync(tier: Tier, method: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``method(*args, **kwargs)`` of ``tier`` from a coroutine: directly for an in-process
    tier, else in a worker thread (the context variables go with it)."""
    if tier.in_process:
        return method(*args, **kwargs)
    return await asyncio.to_thread(method, *args, **kwargs)


def _store(tier: Tier) -> AsyncStore | None:
    return tier.aio if tier._awaitable() else None


async def _value(tier: Tier, key: str, raw: Any) -> Any:
    """As ``Tier._value``; the versions of a tagged value are read in a worker thread."""
    value = tier._decode(key, raw)
    if type(value) is Tagged:
        value = await asyncio.to_thread(tier.untag, key, value)
    return value


# -- reads -----------------------------------------------------------------------------------
async def get(tier: Tier, key: str, default: Any = None) -> Any:
    aio = _store(tier)
    if aio is None:
        answer, rest = tier._get_without_waiting(key, default)
        return answer if rest is None else await asyncio.to_thread(rest)
    raw = await tier._arun("get", lambda: aio.get(key), MISSING)
    return tier._answer(MISSING if raw is MISSING else await _value(tier, key, raw), default)


async def get_many(tier: Tier, keys: Sequence[str]) -> dict[str, Any]:
    aio = _store(tier)
    if aio is None:
        return await run_sync(tier, tier.get_many, keys)
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    none: Mapping[str, Any] = {}
    found = tier._decoded(await tier._arun("get_many", lambda: aio.get_many(unique), none))
    if any(type(value) is Tagged for value in found.values()):
        found = await asyncio.to_thread(tier._checked, found)
    return tier._counted(len(unique), found)


async def present(tier: Tier, key: str) -> bool | None:
    """As :meth:`Tier.present`: None when the store could not be asked."""
    aio = _store(tier)
    if aio is None:
        return await run_sync(tier, tier.present, key)
    raw = await tier._arun("has", lambda: aio.get(key), None)
    if raw is None or raw is MISSING:
        return None if raw is None else False
    return await _value(tier, key, raw) is not MISSING


async def has(tier: Tier, key: str) -> bool:
    return bool(await present(tier, key))


# -- writes ----------------------------------------------------------------------------------
async def set_many(
    tier: Tier, items: Mapping[str, Any], ttl: float | None, *, tags: Sequence[str] | None = None
) -> list[str]:
    aio = _store(tier)
    if aio is None or tags:
        return await run_sync(tier, tier.set_many, items, ttl, tags=tags)
    ttl = expiry(ttl)
    if not items:
        return []
    if ttl is not None and ttl <= 0:
        return [] if await delete_many(tier, list(items)) else list(items)
    encoded = {key: tier._encode(key, value) for key, value in items.items()}
    keys = list(encoded)
    failed = await tier._arun("set_many", lambda: aio.set_many(encoded, ttl), keys, writes=keys)
    return tier._finish_set(encoded, ttl, failed)


async def set(
    tier: Tier, key: str, value: Any, ttl: float | None, *, tags: Sequence[str] | None = None
) -> bool:
    return not await set_many(tier, {key: value}, ttl, tags=tags)


async def add(
    tier: Tier, key: str, value: Any, ttl: float | None, *, tags: Sequence[str] | None = None
) -> bool:
    aio = _store(tier)
    if aio is None or tags:
        return await run_sync(tier, tier.add, key, value, ttl, tags=tags)
    ttl = expiry(ttl)
    if ttl is not None and ttl <= 0:
        return await present(tier, key) is False
    encoded = tier._encode(key, value)
    token = os.urandom(12)
    added = await tier._arun(
        "add",
        lambda: aio.add(key, encoded, ttl, token, again=False),
        False,
        retry=lambda: aio.add(key, encoded, ttl, token, again=True),
    )
    return tier._finish_add(key, encoded, ttl, added)


async def remove(tier: Tier, keys: Sequence[str]) -> int:
    """As :meth:`Tier.remove`: how many were present, -1 if the store could not be asked."""
    aio = _store(tier)
    if aio is None:
        return await run_sync(tier, tier.remove, keys)
    tier.stats.deletes += len(keys)

    async def again() -> int:
        return max(await aio.delete_many(keys), len(keys))

    return await tier._arun("delete", lambda: aio.delete_many(keys), -1, retry=again, writes=keys)


async def delete(tier: Tier, key: str) -> bool:
    return await remove(tier, [key]) > 0


async def delete_many(tier: Tier, keys: Sequence[str]) -> bool:
    unique = list(dict.fromkeys(keys))
    return not unique or await remove(tier, unique) >= 0


async def incr(tier: Tier, key: str, delta: int = 1, *, create: bool = False) -> int:
    aio = _store(tier)
    if aio is None:
        return await run_sync(tier, tier.incr, key, delta, create=create)
    check_delta(delta)
    result: Any = await tier._arun(
        "incr", lambda: aio.incr(key, delta, create), UNREACHABLE, retry=None, writes=[key]
    )
    return tier._finish_incr(key, result)


async def touch(tier: Tier, key: str, ttl: float | None) -> bool:
    aio = _store(tier)
    if aio is None:
        return await run_sync(tier, tier.touch, key, ttl)
    ttl = expiry(ttl)
    if ttl is not None and ttl <= 0:
        return await remove(tier, [key]) > 0
    return await tier._arun("touch", lambda: aio.touch(key, ttl), False, writes=[key])
