"""The entry point each demo execution environment's runtime client loads:
``python -m awslambdaric example_project.environment.handler``.

Importing it is the environment's init phase: it imports the app's Lambda handler
(``FLEET_HANDLER``), which warms the cache tiers. ``handler`` calls the app's handler and returns
its response together with what the fleet measures: the handler's time, database queries,
sockets opened per tier, sockets found dead when the environment was thawed, and the cache
metrics of the invocation.

Under SnapStart (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, ``FLEET_RESTORES=n``) init also
primes the cache with a few requests, as AWS advises, and a before-snapshot hook registered
here first (so run last) forks the initialised process into ``n`` copies that all continue from
the same memory: the "restored" environments (see :mod:`example_project.snapstart`).
"""

from __future__ import annotations

import importlib
import json
import os
import select
import socket
import sys
import time
import weakref
from typing import Any

from example_project import snapstart


class ConnectionCounter:
    """Counts the sockets this process connects, per tier, through the ``socket.connect`` audit
    event (the real number, whatever client library opened them), and keeps them to tell
    which ones the server closed while the process was frozen."""

    def __init__(self, ports: dict[int, str]) -> None:
        self.ports = ports
        self.counts: dict[str, int] = {}
        self.sockets: list[tuple[str, weakref.ref[socket.socket]]] = []

    def __call__(self, name: str, args: tuple[Any, ...]) -> None:
        if name != "socket.connect":
            return
        address = args[1]
        port = address[1] if isinstance(address, tuple) and len(address) >= 2 else None
        tier = self.ports.get(port, "other") if isinstance(port, int) else "other"
        self.counts[tier] = self.counts.get(tier, 0) + 1
        if tier != "other" and isinstance(args[0], socket.socket):
            self.sockets.append((tier, weakref.ref(args[0])))

    def open_sockets(self) -> list[tuple[str, socket.socket]]:
        live = [(tier, ref()) for tier, ref in self.sockets]
        found = [(tier, sock) for tier, sock in live if sock is not None and sock.fileno() != -1]
        self.sockets = [(tier, weakref.ref(sock)) for tier, sock in found]
        return found

    def dead(self) -> dict[str, int]:
        """Open sockets whose peer has closed them (readable, and reading would get EOF)."""
        counts: dict[str, int] = {}
        for tier, sock in self.open_sockets():
            try:
                readable, _, _ = select.select([sock], [], [], 0)
                closed = (
                    bool(readable) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                )
            except (BlockingIOError, InterruptedError):
                closed = False
            except OSError:
                closed = True
            if closed:
                counts[tier] = counts.get(tier, 0) + 1
        return counts

    def local_ports(self) -> list[int]:
        """The local ports of this process's open tier sockets: no two processes share one."""
        return sorted(sock.getsockname()[1] for _, sock in self.open_sockets())


COUNTER = ConnectionCounter(
    {int(k): v for k, v in json.loads(os.environ.get("FLEET_PORTS", "{}")).items()}
)
sys.addaudithook(COUNTER)
snapstart.prepare(COUNTER)  # before the app: its hooks must see the app's hooks registered

_started = time.perf_counter()
_app_handler = importlib.import_module(os.environ["FLEET_HANDLER"]).lambda_handler
INIT_MS = (time.perf_counter() - _started) * 1000
snapstart.prime(_app_handler)

from example_project import database  # noqa: E402  (after the app, as the app imports it)
from serverless_cache import metrics  # noqa: E402

_first = True
_counted: dict[str, int] = {}  # sockets counted so far: init's go with the first invocation


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The app's response, and what this invocation did."""
    global _first, _counted
    dead = COUNTER.dead()
    before_db = database.calls
    started = time.perf_counter()
    response = _app_handler(event, context)
    latency_ms = (time.perf_counter() - started) * 1000
    report = metrics.last_report() or {}
    tiers: dict[str, dict[str, Any]] = {}
    for per_tier in report.get("caches", {}).values():
        tiers.update(per_tier)
    measured = {
        "pid": os.getpid(),
        "init_ms": INIT_MS if _first else 0.0,
        "cold_start": bool(report.get("cold_start")),
        "latency_ms": latency_ms,
        "db_queries": database.calls - before_db,
        "connections": {
            tier: count - _counted.get(tier, 0) for tier, count in COUNTER.counts.items()
        },
        "dead": dead,
        "tiers": tiers,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
    if _first:
        measured["restore"] = snapstart.observed(COUNTER)
    _first, _counted = False, dict(COUNTER.counts)
    return {"response": response, "measured": measured}
