"""Django's async cache API under uvicorn: requests/s, p95 and Redis connections.

One uvicorn process per contender (see ``benchmarks.asgi_app``), each with its own private
redis-server so connections are counted per contender; a Django async view makes six cache
calls (four gets, a get_many of three, a set). Closed-loop HTTP/1.1 keep-alive clients (one
request at a time each) run in this process at concurrency 1, 50 and 300; contenders take
turns, two rounds each, and the better round counts. Connections: the most the contender's
redis-server saw at once during its rounds. Ratios are to the bare ``redis.asyncio`` floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.asgi_app import BACKENDS
from benchmarks.servers import redis_server

CONCURRENCY = (1, 50, 300)
SECONDS = float(os.environ.get("BENCH_ASYNC_SECONDS", "1.5"))
ROUNDS = 2
REQUEST = b"GET /v/ HTTP/1.1\r\nHost: bench\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(contender: str, redis_url: str) -> Iterator[int]:
    port = _free_port()
    command = [sys.executable, "-m", "benchmarks.asgi_app", contender, redis_url, str(port)]
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn ({contender}) did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _client(port: int, stop: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200") or b'"ok": true' not in body:
                raise RuntimeError(f"bad response: {head[:40]!r} {body[:80]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(port: int, concurrency: int, seconds: float) -> tuple[float, float]:
    """Requests/s and p95 latency (ms) of ``concurrency`` closed-loop clients."""
    latencies: list[float] = []
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(_client(port, stop, latencies) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 20 else 0.0
    return len(latencies) / elapsed, p95


async def _measure(port: int, admin: Any, concurrency: int) -> tuple[float, float, int]:
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            clients = int(admin.info("clients")["connected_clients"]) - 1  # minus the observer
            peak = max(peak, clients)
            await asyncio.sleep(0.1)

    watcher = asyncio.ensure_future(watch())
    try:
        rate, p95 = await _load(port, concurrency, SECONDS)
    finally:
        watcher.cancel()
    return rate, p95, peak


def main() -> None:
    import redis

    contenders = list(BACKENDS)
    print(__doc__.split("\n\n")[0])
    with contextlib.ExitStack() as stack:
        ports: dict[str, int] = {}
        admins: dict[str, Any] = {}
        for name in contenders:
            server = stack.enter_context(redis_server())
            admins[name] = redis.Redis(port=server.port)
            ports[name] = stack.enter_context(uvicorn_server(name, server.url))
        for name in contenders:  # warm: connections open, Django's first request done
            asyncio.run(_load(ports[name], 2, 0.2))
        for concurrency in CONCURRENCY:
            best: dict[str, tuple[float, float, int]] = {}
            for _ in range(ROUNDS):
                for name in contenders:
                    rate, p95, peak = asyncio.run(_measure(ports[name], admins[name], concurrency))
                    old = best.get(name)
                    best[name] = (
                        max(rate, old[0]) if old else rate,
                        min(p95, old[1]) if old else p95,
                        max(peak, old[2]) if old else peak,
                    )
            floor = best["bare"][0]
            print(f"\nconcurrency {concurrency}")
            print(f"  {'contender':<18} {'req/s':>8} {'vs bare':>8} {'p95 ms':>8} {'conns':>6}")
            for name, (rate, p95, peak) in best.items():
                print(f"  {name:<18} {rate:>8.0f} {rate / floor:>7.2f}x {p95:>8.1f} {peak:>6}")


if __name__ == "__main__":
    main()
