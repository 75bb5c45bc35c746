"""The clock every expiry, breaker and lease decision reads, so tests can advance time.

``time()`` is epoch seconds (expiry shared with other processes), ``monotonic()`` is for
intervals inside this process. Both add :data:`offset`, which only :func:`advance` and
:func:`reset` change: tests move time forward instead of sleeping.
"""

from __future__ import annotations

import time as _time

offset = 0.0


def time() -> float:
    """Epoch seconds, as :func:`time.time`, plus the test offset."""
    return _time.time() + offset


def monotonic() -> float:
    """Seconds for intervals, as :func:`time.monotonic`, plus the test offset."""
    return _time.monotonic() + offset


def advance(seconds: float) -> None:
    """Move this process's clock forward (tests only; servers keep their own clocks)."""
    global offset
    offset += seconds


def reset() -> None:
    """Back to the real clock."""
    global offset
    offset = 0.0
