"""What an entry of the in-process store really costs, measured for the running Python.

MAX_BYTES bounds the process, so an entry is counted as the allocator hands it out: the key
and value objects (``sys.getsizeof``, rounded up to what pymalloc or malloc really reserves),
the entry tuple, its expiry float and size int, and the store's index (the OrderedDict's hash
table and linked nodes, read from the dict itself, since its table never shrinks on a pop).
"""

from __future__ import annotations

import math
import os
import sys
from sys import getsizeof
from typing import Any, Final

#: pymalloc serves requests up to this size in 16-byte steps; larger ones go to malloc.
_SMALL_REQUEST: Final = 512
_ALIGNMENT: Final = 16
#: glibc serves requests from this size with mmap: whole pages plus a 16-byte header.
MMAP_THRESHOLD: Final = 128 * 1024
_PAGE: Final = 4096
_M_MMAP_THRESHOLD: Final = -3  # mallopt's parameter number in glibc's malloc.h


def allocated(size: int) -> int:
    """The bytes the allocator reserves for an object of ``size`` bytes."""
    if size <= _SMALL_REQUEST:
        return (size + _ALIGNMENT - 1) & -_ALIGNMENT
    if size < MMAP_THRESHOLD:
        return (size + 8 + _ALIGNMENT - 1) & -_ALIGNMENT  # malloc's chunk header
    return (size + 16 + _PAGE - 1) & -_PAGE


#: The entry tuple (value, expires_at, size, encoded) and its ``size`` int (sizes above 256
#: are not the interpreter's cached small ints).
ENTRY_BYTES: Final = allocated(sys.getsizeof((None, math.inf, 0, False))) + allocated(
    sys.getsizeof(1 << 20)
)
#: An expiry float; entries that never expire share ``math.inf``.
EXPIRY_BYTES: Final = allocated(sys.getsizeof(1.5))


def object_bytes(value: Any) -> int:
    """What ``value`` itself holds in memory (bytes, str, int...: flat objects)."""
    size = sys.getsizeof(value)
    return (size + 15) & -16 if size <= _SMALL_REQUEST else allocated(size)


#: ``sys.getsizeof`` of an ASCII str and of bytes (not of their subclasses) is this header plus
#: the length; ``len`` is several times cheaper than ``getsizeof``, which looks ``__sizeof__``
#: up on every call.
_ASCII_HEADER: Final = getsizeof("")
_BYTES_HEADER: Final = getsizeof(b"")


def stored_bytes(key: str, value: Any, expires: bool) -> int:
    """The whole cost of one entry holding the flat object ``value`` (the hot path's)."""
    key_size = _ASCII_HEADER + len(key) if type(key) is str and key.isascii() else getsizeof(key)
    value_size = _BYTES_HEADER + len(value) if type(value) is bytes else getsizeof(value)
    if key_size <= _SMALL_REQUEST and value_size <= _SMALL_REQUEST:
        total = ((key_size + 15) & -16) + ((value_size + 15) & -16)
    else:
        total = allocated(key_size) + allocated(value_size)
    return total + ENTRY_BYTES + EXPIRY_BYTES * expires


def entry_bytes(key: str, value_bytes: int, expires: bool) -> int:
    """The whole cost of one entry whose stored value holds ``value_bytes``."""
    size = sys.getsizeof(key)
    key_bytes = (size + 15) & -16 if size <= _SMALL_REQUEST else allocated(size)
    return key_bytes + value_bytes + ENTRY_BYTES + EXPIRY_BYTES * expires


_pinned = False


def pin_mmap_threshold() -> None:
    """Keep glibc's mmap threshold at its default, once per process.

    glibc raises the threshold each time an mmapped block is freed, so the hash tables a busy
    store reallocates come from the heap afterwards, and the freed ones fragment it: the
    process then grows about a quarter above what the store holds. Called when a store's
    index first reaches the threshold (never at import: ctypes costs milliseconds); a no-op
    off glibc or when MALLOC_MMAP_THRESHOLD_ is set.
    """
    global _pinned
    if _pinned:
        return
    _pinned = True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
