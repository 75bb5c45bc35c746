"""SnapStart in the demo: one initialised environment becomes several "restored" ones.

Inside the environment (under ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, when awslambdaric
runs the before-snapshot hooks, asks ``/runtime/restore/next`` and runs the after-restore
hooks): :func:`prepare` registers, before the app is imported, a user after-restore hook (as a
settings module would: before any cache backend exists) that records what it sees, and the
hook that takes the "snapshot": it forks the process into ``FLEET_RESTORES`` copies that all
continue from the same memory. os.fork() reseeds :mod:`random` in the child, a restore from a
snapshot does not, so each copy first puts back the snapshot's random state. The library's
after-restore hook, registered when the first backend was built, must then run before the
user's, and give each copy an empty L1, its own connections and its own random sequence.
"""

from __future__ import annotations

import os
import random
from typing import Any, Protocol

from example_project import events


class _Sockets(Protocol):
    def local_ports(self) -> list[int]: ...


_seen: dict[str, Any] = {}


def enabled() -> bool:
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start" and bool(
        os.environ.get("FLEET_RESTORES")
    )


def _l1_entries() -> int:
    from serverless_cache import registry

    return sum(len(store.data) for store in registry.entries("memory"))


def _user_hook() -> None:
    """What an app's own after-restore hook finds: the L1 and the random state it inherits."""
    _seen["l1_entries"] = _l1_entries()
    _seen["random"] = random.random()


def prepare(sockets: _Sockets) -> None:
    """Register the snapshot taker and a user hook, before the app and its caches exist."""
    if not enabled():
        return
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    def take_snapshot() -> None:
        """Last of the before-snapshot hooks: fork the restored copies; the parent, the
        snapshot, serves nothing and waits for them."""
        _seen["snapshot_l1_entries"] = _l1_entries()
        _seen["snapshot_ports"] = sockets.local_ports()
        state = random.getstate()
        copies = int(os.environ["FLEET_RESTORES"])
        for number in range(copies):
            if os.fork() == 0:
                random.setstate(state)
                _seen["copy"] = number
                return
        for _ in range(copies):
            os.wait()
        os._exit(0)

    register_before_snapshot(take_snapshot)  # registered first: run last
    register_after_restore(_user_hook)


def prime(handler: Any) -> None:
    """Under SnapStart, run a few requests during init so that the snapshot holds warm caches
    (the priming AWS advises), which every restored copy must then not trust."""
    if not enabled():
        return
    for product in range(1, 6):
        handler(events.apigw_v2(f"/products/{product}"), events.LambdaContext("snapstart"))


def observed(sockets: _Sockets) -> dict[str, Any]:
    """Reported with a restored copy's first invocation."""
    if "copy" not in _seen:
        return {}
    ports = sockets.local_ports()
    snapshot = set(_seen["snapshot_ports"])
    return {
        **_seen,
        "ports": [port for port in ports if port not in snapshot],
        "inherited_open": len([port for port in ports if port in snapshot]),
    }


# -- the fleet's side ----------------------------------------------------------------------
def restore_copies(
    function: str, handler_module: str, environ: dict[str, str], ports: dict[int, str], copies: int
) -> list[dict[str, Any]]:
    """Initialise one environment under SnapStart, restore ``copies`` copies of it, and return
    what each copy reported with its first invocation (invocations go one at a time to the
    copies waiting for one, so every copy gets some)."""
    from example_project.execution import Environment

    snap_environ = {
        **environ,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "FLEET_RESTORES": str(copies),
    }
    environment = Environment(function, handler_module, snap_environ, ports)
    reports: dict[int, dict[str, Any]] = {}
    try:
        for number in range(copies * 10):
            measured = environment.invoke(events.apigw_v2(f"/products/{number % 5 + 1}"))[
                "measured"
            ]
            if measured.get("restore"):
                reports[measured["pid"]] = {
                    **measured["restore"],
                    "pid": measured["pid"],
                    "latency_ms": measured["latency_ms"],
                    "db_queries": measured["db_queries"],
                    "restores": environment.api.restores,
                }
            if len(reports) == copies:
                break
    finally:
        environment.close()
    return sorted(reports.values(), key=lambda report: int(report["copy"]))


def distinct(reports: list[dict[str, Any]]) -> bool:
    """No two copies connect through one socket or draw the same random number, and every
    app hook found the L1 empty."""
    ports = [port for report in reports for port in report["ports"]]
    draws = [report["random"] for report in reports]
    return (
        len(ports) == len(set(ports))
        and len(draws) == len(set(draws))
        and all(report["l1_entries"] == 0 for report in reports)
    )


def table(function: str, stack: list[str], reports: list[dict[str, Any]]) -> str:
    """One row per restored copy, and whether they are distinct."""
    from example_project.fleet_report import _table

    rows = [
        [
            function,
            "+".join(stack),
            str(report["copy"]),
            str(report["snapshot_l1_entries"]),
            str(report["l1_entries"]),
            f"{report['random']:.6f}",
            ",".join(map(str, report["ports"])) or "-",
            str(report["inherited_open"]),
            f"{report['latency_ms']:.2f}",
            str(report["db_queries"]),
        ]
        for report in reports
    ]
    headers = [
        "function",
        "tiers",
        "copy",
        "snapshot L1",
        "L1 at app hook",
        "first random()",
        "own sockets (ports)",
        "snapshot's open",
        "first ms",
        "db queries",
    ]
    verdict = "distinct" if distinct(reports) else "NOT distinct"
    return f"{_table(headers, rows, text_columns=2)}\nrestored environments: {verdict}"


def demonstrate(
    function: str, handler_module: str, environ: dict[str, str], ports: dict[int, str], copies: int
) -> str:
    """The demo's SnapStart section for one function: restore, then the table."""
    stack = environ["EXAMPLE_CACHE_TIERS"].split(",")
    reports = restore_copies(function, handler_module, environ, ports, copies)
    legend = (
        f"\nSnapStart, {function}: one environment initialised under SnapStart (primed with 5"
        f" requests), its snapshot taken (forked) and restored {copies} times. An after-restore"
        " hook of the app's, registered before any cache existed, reports the L1 entries it"
        " finds and its first random() draw; own sockets: the tier connections the copy opened"
        " (none may be another copy's); snapshot's open: the snapshot's sockets still open in"
        " the copy (redis-py forgets, without closing, connections made by another pid: an"
        " artefact of fork, a real restore keeps the pid).\n"
    )
    return legend + table(function, stack, reports)
