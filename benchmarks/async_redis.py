"""Django's async cache API under uvicorn: requests/s, p95 and Redis connections.

One uvicorn process per contender (see ``benchmarks.asgi_app``), each with its own private
redis-server so connections are counted per contender; a Django async view makes six cache
calls (four gets, a get_many of three, a set). Closed-loop HTTP/1.1 keep-alive clients (one
request at a time each) run in this process at concurrency 1, 50 and 300; contenders take
turns, two rounds each, and the better round counts. Connections: the most the contender's
redis-server saw at once during its rounds; failed: responses that were errors (a backend
that raised, e.g. out of connections); cpu us/req: the uvicorn process's CPU time per good
response, steadier than requests/s on a busy machine. Ratios are to the bare
``redis.asyncio`` floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.asgi_app import BACKENDS
from example_project.servers import free_port, redis_server, running

CONCURRENCY = (1, 50, 300)
SECONDS = float(os.environ.get("BENCH_ASYNC_SECONDS", "1.5"))
ROUNDS = 2
REQUEST = b"GET /v/ HTTP/1.1\r\nHost: bench\r\n\r\n"


@contextlib.contextmanager
def uvicorn_server(contender: str, redis_url: str) -> Iterator[tuple[int, int]]:
    """The port and the pid of a uvicorn process serving ``contender``."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.asgi_app", contender, redis_url, str(port)]
    with running(command, port, f"uvicorn ({contender})") as process:
        yield port, process.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux's /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client(port: int, stop: float, latencies: list[float], errors: list[int]) -> None:
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
            if head.startswith(b"HTTP/1.1 200") and b'"ok": true' in body:
                latencies.append(time.perf_counter() - started)
            else:  # a 500 (the backend raised) or a miss the view did not expect
                errors.append(1)
    finally:
        writer.close()


async def _load(port: int, concurrency: int, seconds: float) -> tuple[float, float, int]:
    """Good responses/s, their p95 latency (ms), and failed responses, of ``concurrency``
    closed-loop clients."""
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(_client(port, stop, latencies, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 20 else 0.0
    return len(latencies) / elapsed, p95, len(errors)


Result = tuple[float, float, int, int, float]


async def _measure(port: int, pid: int, admin: Any, concurrency: int) -> Result:
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            clients = int(admin.info("clients")["connected_clients"]) - 1  # minus the observer
            peak = max(peak, clients)
            await asyncio.sleep(0.1)

    watcher = asyncio.ensure_future(watch())
    cpu = cpu_seconds(pid)
    try:
        rate, p95, errors = await _load(port, concurrency, SECONDS)
    finally:
        watcher.cancel()
    cpu_per_request = (cpu_seconds(pid) - cpu) / max(1.0, rate * SECONDS) * 1e6
    return rate, p95, peak, errors, cpu_per_request


def main() -> None:
    import redis

    contenders = list(BACKENDS)
    print(__doc__.split("\n\n")[0])
    with contextlib.ExitStack() as stack:
        ports: dict[str, tuple[int, int]] = {}
        admins: dict[str, Any] = {}
        for name in contenders:
            server = stack.enter_context(redis_server())
            admins[name] = redis.Redis(port=server.port)
            ports[name] = stack.enter_context(uvicorn_server(name, server.url))
        for name in contenders:  # warm: connections open, Django's first request done
            asyncio.run(_load(ports[name][0], 2, 0.2))
        for concurrency in CONCURRENCY:
            best: dict[str, Result] = {}
            for _ in range(ROUNDS):
                for name in contenders:
                    port, pid = ports[name]
                    result = asyncio.run(_measure(port, pid, admins[name], concurrency))
                    old = best.get(name)
                    best[name] = result if old is None else (
                        max(result[0], old[0]), min(result[1], old[1]),
                        max(result[2], old[2]), max(result[3], old[3]), min(result[4], old[4]),
                    )  # fmt: skip
            floor, floor_cpu = best["bare"][0], best["bare"][4] or 1.0
            print(f"\nconcurrency {concurrency}")
            print(
                f"  {'contender':<18} {'req/s':>8} {'vs bare':>8} {'p95 ms':>8} {'conns':>6} "
                f"{'failed':>7} {'cpu us/req':>11} {'vs bare':>8}"
            )
            for name, (rate, p95, peak, errors, cpu) in best.items():
                print(
                    f"  {name:<18} {rate:>8.0f} {rate / floor:>7.2f}x {p95:>8.1f} {peak:>6} "
                    f"{errors:>7} {cpu:>11.0f} {cpu / floor_cpu:>7.2f}x"
                )


if __name__ == "__main__":
    main()
