"""A layered cache's process-wide state: the epoch it saw last, this process's write count, and
the tag versions its L1 copies were checked against (a registry entry per cache)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

from serverless_cache.tiers.layered.held_tags import HeldTags
from serverless_cache.tiers.rules import MISSING


def new_epoch() -> int:
    """A random epoch token. An integer, because every tier stores integers natively, outside
    the codec: instances with another SIGNING_KEY or SERIALIZER (a rotation) still read it."""
    return secrets.randbits(62)


class LayeredState:
    """Process-wide state of one layered cache: the epoch seen last, and a count of this
    process's writes (a read that saw it change promotes nothing)."""

    def __init__(self) -> None:
        self.epoch: Any = MISSING
        self.next_check = 0.0
        self.check_lock = threading.Lock()
        self.writes = 0
        self.writes_lock = threading.Lock()
        self.tags = HeldTags()

    def restore(self) -> None:
        """After a SnapStart restore: read the epoch again before serving from L1."""
        self.next_check = 0.0
        self.tags.clear()

    def count_write(self) -> None:
        """Called before a write touches any tier, so a read overlapping it sees the change."""
        with self.writes_lock:  # a lost increment could hide a write from a reader
            self.writes += 1
