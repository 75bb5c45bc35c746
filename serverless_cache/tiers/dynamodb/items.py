"""How the DynamoDB tier lays values out in items: pure functions, no client.

One item per key (attribute names are short because every byte is billed)::

    k  S  partition key: the final cache key
    v  B  the value encoded by the codec (absent for integers)
    n  N  an integer value, kept as a Number so that incr is one atomic UpdateItem ADD
    x  N  exact expiry, epoch seconds with milliseconds: what reads and conditions compare
    e  N  expiry rounded up to whole seconds, the attribute DynamoDB's TTL deletes by
    c  N  on a manifest: the number of chunks of a value too large for one item
    t  B  on a manifest and its chunks: a random token shared by one write
    w  B  the token of the ``add`` that wrote the item, so its retry recognises it

DynamoDB deletes expired items late (up to days), so every read and condition treats an item
whose ``x`` has passed as absent. Chunks of key ``K`` are the items ``K\\x00<i>``: user keys
cannot contain NUL, so no key can reach them. A chunk that is missing or carries another
write's token makes the whole value a miss, never corrupt data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final

Item = dict[str, dict[str, Any]]

DEFAULT_TABLE: Final = "serverless-cache"
KEY, VALUE, NUMBER, EXACT, EXPIRES, CHUNKS, TOKEN, WRITER = "k", "v", "n", "x", "e", "c", "t", "w"
CHUNK_MARK: Final = "\x00"
#: A value whose encoded payload plus key is larger than this is chunked (items max 400 KB).
INLINE_MAX_BYTES: Final = 380_000
CHUNK_BYTES: Final = 350_000
#: A chunked value and its manifest fit one BatchWriteItem (25 items).
MAX_CHUNKS: Final = 24
#: DynamoDB numbers have 38 significant digits; larger integers are stored encoded.
NUMBER_LIMIT: Final = 10**38
MAX_KEY_BYTES: Final = 2048 - 32
LIVE: Final = f"(attribute_not_exists({EXACT}) OR {EXACT} > :now)"
LIVE_NUMBER: Final = f"attribute_exists({NUMBER}) AND {LIVE}"
DEAD_OR_ABSENT: Final = f"attribute_not_exists({KEY}) OR {EXACT} <= :now"


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an item's key, or None."""
    size = len(key.encode())
    if not 1 <= size <= MAX_KEY_BYTES:
        return (
            f"cache key of {size} bytes cannot be stored in DynamoDB: keys must be 1 to "
            f"{MAX_KEY_BYTES} bytes (UTF-8); use a shorter key or a KEY_FUNCTION that hashes"
        )
    if CHUNK_MARK in key:
        return "cache keys stored in DynamoDB cannot contain NUL characters"
    return None


def chunk_key(key: str, index: int) -> str:
    return f"{key}{CHUNK_MARK}{index}"


def number(value: int) -> str:
    return str(value)


def expiry_attributes(expires_at: float | None) -> Item:
    """``x`` and ``e`` for an expiry (nothing for none)."""
    if expires_at is None:
        return {}
    return {
        EXACT: {"N": f"{expires_at:.3f}"},
        EXPIRES: {"N": str(math.ceil(expires_at))},
    }


def now_value(now: float) -> dict[str, dict[str, str]]:
    return {":now": {"N": f"{now:.3f}"}}


def live(item: Mapping[str, Any], now: float) -> bool:
    return EXACT not in item or float(item[EXACT]["N"]) > now


def expires_at(item: Mapping[str, Any]) -> float | None:
    return float(item[EXACT]["N"]) if EXACT in item else None


def build_items(key: str, stored: tuple[str, Any], expires: float | None) -> list[Item]:
    """The items of one value: one, or its chunks followed by their manifest.

    ``stored`` is ``("n", digits)`` for a native integer or ``("b", payload)``.
    """
    item: Item = {KEY: {"S": key}, **expiry_attributes(expires)}
    kind, data = stored
    if kind == "n":
        item[NUMBER] = {"N": data}
        return [item]
    if len(data) + len(key.encode()) <= INLINE_MAX_BYTES:
        item[VALUE] = {"B": data}
        return [item]
    token = {"B": os.urandom(12)}
    parts = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    chunks: list[Item] = [
        {
            KEY: {"S": chunk_key(key, i)},
            VALUE: {"B": part},
            TOKEN: token,
            **expiry_attributes(expires),
        }
        for i, part in enumerate(parts)
    ]
    item[CHUNKS] = {"N": str(len(parts))}
    item[TOKEN] = token
    return [*chunks, item]


def chunk_count(item: Mapping[str, Any] | None) -> int:
    return int(item[CHUNKS]["N"]) if item and CHUNKS in item else 0


def join_chunks(key: str, manifest: Item, chunks: Mapping[str, Item]) -> bytes | None:
    """The payload of a chunked value, or None when a chunk is missing or from another write."""
    token = manifest[TOKEN]["B"]
    parts = []
    for i in range(chunk_count(manifest)):
        chunk = chunks.get(chunk_key(key, i))
        if chunk is None or chunk.get(TOKEN, {}).get("B") != token:
            return None
        parts.append(chunk[VALUE]["B"])
    return b"".join(parts)


def written_key(request: Mapping[str, Any]) -> str:
    """The key a BatchWriteItem WriteRequest puts or deletes."""
    put = request.get("PutRequest")
    item = put["Item"] if put else request["DeleteRequest"]["Key"]
    key: str = item[KEY]["S"]
    return key
