"""Helpers shared by the Redis tests: counting round trips and connections on real servers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis


def reads_processed(nodes: Sequence[redis.Redis]) -> int:
    """Read events the servers processed: one per request burst a client sent (round trip)."""
    return sum(int(node.info("stats")["total_reads_processed"]) for node in nodes)


def round_trips(nodes: Sequence[redis.Redis], call: Callable[[], Any]) -> int:
    """How many request bursts ``call`` sent to ``nodes``, the observer's own INFO excluded.

    Measure on warm connections: opening one adds its handshake commands.
    """
    before = reads_processed(nodes)
    baseline = reads_processed(nodes) - before  # the INFO requests of one measurement
    before = reads_processed(nodes)
    call()
    return reads_processed(nodes) - before - baseline


#: Commands a client sends when it opens a connection or learns the cluster's layout.
HANDSHAKE = frozenset(
    {"info", "hello", "client|setinfo", "select", "auth", "command", "cluster|slots"}
)


def command_calls(nodes: Sequence[redis.Redis], call: Callable[[], Any]) -> dict[str, int]:
    """Commands ``call`` made the servers run, by name (INFO commandstats delta).

    Handshake commands of new connections are left out: they are not the call's work.
    """

    def stats() -> dict[str, int]:
        totals: dict[str, int] = {}
        for node in nodes:
            for name, value in node.info("commandstats").items():
                command = name.removeprefix("cmdstat_")
                totals[command] = totals.get(command, 0) + int(value["calls"])
        return totals

    before = stats()
    call()
    after = stats()
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name not in HANDSHAKE
    }


def client_connections(node: redis.Redis) -> int:
    """Connected clients other than the observer itself."""
    return int(node.info("clients")["connected_clients"]) - 1
