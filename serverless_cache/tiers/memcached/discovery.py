"""ElastiCache for Memcached auto-discovery: the node list a configuration endpoint serves.

The configuration endpoint answers ``config get cluster`` with a version number and one
``hostname|ip|port`` entry per node (AWS, "How Auto Discovery works"). Nodes are addressed by
IP when the entry has one, as AWS's own clients do, so a replaced node's stale DNS never
matters. Plain sockets: this runs once per refresh interval, outside pymemcache's pools.
"""

from __future__ import annotations

import socket
from typing import NamedTuple

from serverless_cache.tiers.memcached.urls import Address

COMMAND = b"config get cluster\r\n"
END = b"END\r\n"
MAX_REPLY = 1 << 20


class ClusterConfig(NamedTuple):
    """One answer of the configuration endpoint."""

    version: int
    nodes: tuple[Address, ...]


class DiscoveryError(ConnectionError):
    """The configuration endpoint was unreachable or its answer could not be read."""


def fetch(endpoint: Address, timeout: float) -> ClusterConfig:
    """Ask ``endpoint`` for the cluster's nodes (one round trip on a new connection)."""
    reply = b""
    with socket.create_connection(endpoint, timeout=timeout) as sock:
        sock.sendall(COMMAND)
        while not reply.endswith(END):
            chunk = sock.recv(65536)
            if not chunk:
                raise DiscoveryError(f"{endpoint[0]}:{endpoint[1]} closed before END")
            reply += chunk
            if len(reply) > MAX_REPLY:
                raise DiscoveryError(f"{endpoint[0]}:{endpoint[1]} sent more than 1 MiB")
    return parse(reply)


def parse(reply: bytes) -> ClusterConfig:
    """``CONFIG cluster <flags> <length>``, then the version line and the node line, END."""
    header, _, rest = reply.partition(b"\r\n")
    words = header.split()
    if len(words) != 4 or words[:2] != [b"CONFIG", b"cluster"] or not words[3].isdigit():
        raise DiscoveryError(
            f"not a configuration endpoint (answer {header[:60]!r}); is AUTO_DISCOVERY set on "
            "a node address instead of the cluster's .cfg. endpoint?"
        )
    lines = rest[: int(words[3])].split(b"\n")
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DiscoveryError(f"unreadable cluster configuration {rest[:80]!r}")
    nodes: list[Address] = []
    for entry in lines[1].split():
        host, _, tail = entry.decode("ascii", "replace").partition("|")
        ip, _, port = tail.partition("|")
        if not port.isdigit():
            raise DiscoveryError(f"unreadable node entry {entry[:80]!r}")
        nodes.append((ip or host, int(port)))
    if not nodes:
        raise DiscoveryError("the cluster configuration lists no nodes")
    return ClusterConfig(int(lines[0]), tuple(nodes))
