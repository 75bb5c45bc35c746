"""SnapStart's after-restore hook: registered when the first backend is built, ahead of the
app's own hooks, and what a restored copy gets from it (an empty L1, its own random state).

A settings module that registers a hook runs before any cache exists; the hook must still find
the cache already restored, not the snapshot's L1 copy.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

from serverless_cache import registry
from serverless_cache.aws import snapstart
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.memory import MemoryTier

FRESH_PROCESS = textwrap.dedent(
    """
    import snapshot_restore_py
    seen = []
    # an app's hook, registered (in its settings) before any cache backend is built
    snapshot_restore_py.register_after_restore(lambda: seen.append(tier.get("k")))
    assert "serverless_cache.aws" not in __import__("sys").modules
    from serverless_cache.tiers.config import TierConfig
    from serverless_cache.tiers.memory import MemoryTier
    tier = MemoryTier.from_config(TierConfig("snap", "", {}))
    tier.set("k", "snapshot value", None)
    hooks = [func for func, _, _ in snapshot_restore_py.get_after_restore()]
    print(hooks[0].__module__, len(hooks))
    for func, args, kwargs in snapshot_restore_py.get_after_restore():  # what awslambdaric does
        func(*args, **kwargs)
    print(seen)
    """
)


def test_building_a_backend_registers_the_hook_ahead_of_the_apps() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["serverless_cache.aws.snapstart 2", "[None]"]


def test_registering_twice_keeps_one_hook() -> None:
    from snapshot_restore_py import get_after_restore

    assert snapstart.register_hooks() and snapstart.register_hooks()
    hooks = [func for func, _, _ in get_after_restore()]
    assert hooks.count(snapstart.after_restore) == 1


def test_after_restore_empties_l1_and_reseeds_random() -> None:
    tier = MemoryTier.from_config(TierConfig("restore-random", "", {}))
    tier.set("k", "v", None)
    random.seed(1234)  # the state a snapshot froze
    state = random.getstate()
    snapstart.after_restore()
    first_copy = random.random()
    random.setstate(state)  # a second copy restored from the same snapshot
    snapstart.after_restore()
    assert random.random() != first_copy
    assert tier.get("k") is None
    assert all(len(store.data) == 0 for store in registry.entries("memory"))
