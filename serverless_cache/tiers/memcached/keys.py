"""What Memcached is sent: keys it can carry, and expiry times as it reads them.

Memcached keys are at most 250 bytes, without spaces or control characters. Django's key rules
(and their warnings) are the adapter's; whatever key they let through is stored here as
``<generation>~<key>``, or as ``<generation>#<sha256 of key>`` when that form cannot be sent.
The separators differ, so the two forms never meet. The generation is the namespace that
``clear()`` bumps (see :mod:`serverless_cache.tiers.memcached.tier`).
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Final

from serverless_cache import clock

MAX_KEY_BYTES: Final = 250
#: Expiry times above this many seconds are absolute epoch seconds to Memcached.
RELATIVE_LIMIT: Final = 60 * 60 * 24 * 30
_UNSENDABLE: Final = re.compile(rb"[\x00-\x20\x7f]")


def wire_key(generation: int, key: str) -> bytes:
    """The Memcached key of ``key`` in namespace ``generation``."""
    return _compose(b"%x" % generation, key)


def generation_key(prefix: str) -> bytes:
    """Where the generation of ``prefix`` is kept; data keys start with hex digits instead."""
    return _compose(b"sc-generation", prefix)


def _compose(head: bytes, key: str) -> bytes:
    body = key.encode("utf-8", "surrogatepass")
    raw = head + b"~" + body
    if len(raw) <= MAX_KEY_BYTES and not _UNSENDABLE.search(raw):
        return raw
    return head + b"#" + hashlib.sha256(body).hexdigest().encode()


def expire_time(ttl: float | None) -> int:
    """Memcached's exptime for ``ttl`` seconds (> 0) or None (never).

    Whole seconds, rounded up (0 would mean "never"); beyond 30 days an absolute epoch time,
    since Memcached reads larger numbers that way.
    """
    if ttl is None:
        return 0
    seconds = max(1, math.ceil(ttl))
    if seconds > RELATIVE_LIMIT:
        return math.ceil(clock.time() + ttl)
    return seconds
