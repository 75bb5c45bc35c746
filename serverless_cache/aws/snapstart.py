"""Lambda SnapStart: what a restored environment must forget, and the hook that makes it.

A snapshot freezes the process after init: every environment restored from it starts with the
same pooled sockets (dead, or shared), the same L1 contents (as old as the snapshot) and the
same :mod:`random` state. :func:`after_restore` forgets all three. :func:`register_hooks` puts
it first among SnapStart's after-restore hooks (``snapshot_restore_py``), so that an app's own
hooks, often registered in a settings module before any cache exists, already see a clean
cache; the registry calls it when the first process-wide entry (a store, a client) is built.
"""

from __future__ import annotations

import random

from serverless_cache import registry


def after_restore() -> None:
    """Forget what the snapshot froze (pooled connections, L1 contents, the random state), then
    warm the tiers again, before the restored environment's first invocation.

    In-process stores are emptied in place rather than replaced, so that backends built before
    the snapshot and after the restore keep sharing one store.
    """
    from serverless_cache.aws.lambda_runtime import warm_tiers

    registry.restore()
    random.seed()  # from os.urandom: no two restored copies draw the same sequence
    warm_tiers()


def register_hooks() -> bool:
    """Make :func:`after_restore` the first after-restore hook, once; False without SnapStart's
    runtime hooks (``snapshot_restore_py``) installed."""
    try:
        import snapshot_restore_py
    except ImportError:
        return False
    hooks = snapshot_restore_py.get_after_restore()
    if any(entry[0] is after_restore for entry in hooks):
        return True
    if isinstance(hooks, list):
        hooks.insert(0, (after_restore, (), {}))
    else:  # a registry that is not the documented list: at least be registered
        snapshot_restore_py.register_after_restore(after_restore)
    return True
