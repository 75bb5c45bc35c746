"""The Redis tier's scripts and the small rules of its commands, shared by the sync primitives
(``tier.py``) and the asyncio ones (``aio.py``)."""

from __future__ import annotations

from typing import Any, Final

#: INCRBY that refuses to create the key, so a missing key is an error without a race. It
#: answers with GET: Lua would turn INCRBY's integer into a double (exact only to 2**53).
INCR_EXISTING: Final = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "return redis.call('GET', KEYS[1]) end return false"
)
#: PERSIST that reports whether the key exists (PERSIST alone says whether a ttl was removed).
PERSIST_EXISTING: Final = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PERSIST', KEYS[1]) return 1 end "
    "return 0"
)
#: SET NX that leaves the write's token beside the key for 30 s; on a retry (ARGV[4] = 1) a
#: token still there means the lost attempt stored it.
ADD_WITH_TOKEN: Final = (
    "if ARGV[4] == '1' and redis.call('GET', KEYS[2]) == ARGV[2] then return 1 end "
    "local ok "
    "if ARGV[3] == '' then ok = redis.call('SET', KEYS[1], ARGV[1], 'NX') "
    "else ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) end "
    "if ok then redis.call('SET', KEYS[2], ARGV[2], 'PX', 30000) return 1 end return 0"
)
TOKEN_SUFFIX: Final = "\x1fadd-token"
#: GET and PTTL of one key in one command (a missing value is Lua's false: None here).
GET_WITH_PTTL: Final = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"


def token_key(key: str, cluster: bool) -> str | None:
    """Where ``add`` leaves its token: in ``key``'s hash slot, so one script sees both.

    Redis hashes the text between the first ``{`` and the first ``}`` after it, when that is
    not empty, else the whole key; a key whose slot no other name can share gets None.
    """
    if not cluster:
        return key + TOKEN_SUFFIX
    start = key.find("{")
    end = key.find("}", start + 1) if start != -1 else -1
    if end > start + 1:
        return key + TOKEN_SUFFIX  # a hash tag decides the slot, and it stays first
    if "}" in key:
        return None  # no slot-preserving name; add is then not retried
    return "{" + key + "}" + TOKEN_SUFFIX


def _is_integer(payload: Any) -> bool:
    """Whether a stored payload is an integer written as digits (as the codec writes ints)."""
    try:
        int(payload)
    except (TypeError, ValueError):
        return False
    return True


def incr_error(key: str, delta: int, exc: Exception, stored: Any) -> Exception | None:
    """What a refused INCRBY means for the caller (None: the store's own error); ``stored`` is
    the key's payload, read only when Redis says "out of range"."""
    message = str(exc)
    if "overflow" in message:
        return OverflowError(f"cannot increment {key!r} by {delta}: Redis integers are 64-bit")
    if "out of range" in message and _is_integer(stored):
        return OverflowError(
            f"cannot increment {key!r}: its value is beyond Redis's 64-bit integers"
        )
    if "not an integer" in message or "WRONGTYPE" in message:
        return TypeError(f"cannot increment {key!r}: its value is not an integer")
    return None


def millis(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl * 1000))


def check_range(key: str, delta: int) -> None:
    """Refuse a ``delta`` beyond Redis's 64-bit integers before it is sent."""
    if not -(2**63) <= delta < 2**63:
        raise OverflowError(f"cannot increment {key!r} by {delta}: Redis integers are 64-bit")
