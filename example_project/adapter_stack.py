"""The demo stack "django under uvicorn behind the Lambda Web Adapter", as on Lambda Managed
Instances: each environment is a uvicorn with several worker processes serving the example
project through :class:`~serverless_cache.aws.web_adapter.CacheASGIMiddleware`; the adapter's
part (turn each event into an HTTP request, pass the other events to ``/events``, wait for the
readiness path first) is played here, several requests at once per environment. Between bursts
the whole environment is frozen (SIGSTOP of its process group), at times past the demo
servers' idle timeout. Connections are counted by the Redis server itself.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from example_project.execution import PROJECT_ROOT
from example_project.fleet_report import _percentile, _table
from example_project.servers import free_port

APP = "example_project.django_app.web_adapter:application"
READY = "/_ready"


class Server:
    """One environment: uvicorn and its workers, in a process group of their own."""

    def __init__(self, environ: dict[str, str], workers: int) -> None:
        self.port = free_port()
        variables = {
            **environ,
            "AWS_LWA_READINESS_CHECK_PATH": READY,
            "AWS_LWA_PASS_THROUGH_PATH": "/events",
            "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT_ROOT, environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", "uvicorn", APP, "--port", str(self.port)]
        command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(
            command,
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        """What the adapter does before it sends the first request."""
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", READY)[0] == 200:
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not get ready on port {self.port}") from None
                time.sleep(0.1)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, float]:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        return response.status, (time.perf_counter() - started) * 1000

    def freeze(self, seconds: float) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.killpg(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGCONT)
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _http(job: Any) -> tuple[str, str, bytes | None]:
    """The adapter's translation: an HTTP event becomes its request, another event a POST."""
    if job.warmup:  # the adapter passes the event alone: a client context does not reach the app
        event = {"source": "serverless-plugin-warmup"} if job.plugin_context else job.event
        return "POST", "/events", json.dumps(event).encode()
    event = job.event
    return "GET", event.get("rawPath") or event["path"], None


def _redis_connections(url: str | None) -> int | None:
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def run(
    jobs: Sequence[Sequence[Any]],
    environ: dict[str, str],
    stack: list[str],
    *,
    workers: int,
    concurrency: int,
    freeze_s: float,
) -> dict[str, Any]:
    """Serve each environment's jobs in bursts of ``concurrency``, frozen in between."""
    environments = [Server(environ, workers) for _ in jobs]
    results: list[tuple[int, float]] = []
    thaws = long_freezes = 0
    try:
        for server in environments:
            server.wait_ready()
        before = _redis_connections(environ.get("REDIS_URL") if "redis" in stack else None)

        def serve(server: Server, work: Sequence[Any]) -> tuple[int, int]:
            thawed = frozen = 0
            with ThreadPoolExecutor(concurrency) as pool:
                for start in range(0, len(work), concurrency):
                    burst = work[start : start + concurrency]
                    if start:
                        long = max(job.idle_s for job in burst) > 0
                        server.freeze(freeze_s if long else 0.0)
                        thawed, frozen = thawed + 1, frozen + long
                    results.extend(pool.map(lambda job: server.request(*_http(job)), burst))
            return thawed, frozen

        with ThreadPoolExecutor(len(environments)) as pool:
            for thawed, frozen in pool.map(serve, environments, jobs):
                thaws, long_freezes = thaws + thawed, long_freezes + frozen
        after = _redis_connections(environ.get("REDIS_URL") if "redis" in stack else None)
    finally:
        for server in environments:
            server.close()
    latencies = [latency for _, latency in results]
    return {
        "stack": stack,
        "environments": len(environments),
        "workers": workers,
        "concurrency": concurrency,
        "requests": len(results),
        "failed": sum(1 for status, _ in results if status != 200),
        "thaws": thaws,
        "long_freezes": long_freezes,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": _percentile(latencies, 0.95),
        # the count after includes the connection that asked for it
        "redis_connections": None if before is None or after is None else after - before - 1,
    }


def table(outcome: dict[str, Any]) -> str:
    processes = outcome["environments"] * outcome["workers"]
    connections = outcome["redis_connections"]
    row = [
        "django (uvicorn)",
        "+".join(outcome["stack"]),
        f"{outcome['environments']} x {outcome['workers']}",
        str(outcome["concurrency"]),
        str(outcome["requests"]),
        str(outcome["failed"]),
        str(outcome["thaws"]),
        str(outcome["long_freezes"]),
        f"{outcome['p50']:.2f}",
        f"{outcome['p95']:.2f}",
        "-" if connections is None else str(connections),
        "-" if connections is None else f"{connections / processes:.1f}",
    ]
    headers = [
        "function",
        "tiers",
        "envs x processes",
        "concurrent",
        "requests",
        "failed",
        "thaws",
        "long freezes",
        "p50 ms",
        "p95 ms",
        "Redis connections",
        "per process",
    ]
    return _table(headers, [row])


def demonstrate(
    jobs: Sequence[Sequence[Any]], environ: dict[str, str], stack: list[str], freeze_s: float
) -> str:
    """The demo's Lambda Web Adapter section: run the stack, then the legend and the table."""
    workers, concurrency = 2, 4
    adapter_environ = {
        **environ,
        "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
        "EXAMPLE_CACHE_TIERS": ",".join(stack),
    }
    outcome = run(
        jobs, adapter_environ, stack, workers=workers, concurrency=concurrency, freeze_s=freeze_s
    )
    legend = (
        "\nLambda Web Adapter / Managed Instances: django under uvicorn, CacheASGIMiddleware, no"
        f" handler; {workers} worker processes per environment, {concurrency} requests at once,"
        " the whole environment frozen between bursts. Redis connections: opened, as the Redis"
        " server counts them. Each process has its own pool, and Django under ASGI runs each"
        " request's sync view in a thread of its own, so a process holds about as many"
        " connections as requests it serves at once, opened again after a long freeze.\n"
    )
    return legend + table(outcome)
