"""A simulated Lambda fleet running the example apps through their real Lambda handlers.

``python -m example_project.fleet`` (``make demo``; ``--short`` for CI). Each function (the
Django app behind Mangum, the Flask app behind apig-wsgi) gets several worker processes, each
one an execution environment: fresh interpreter, handler imported on its first event (the cold
start), warm after. Requests are API Gateway / ALB / Function URL events for products whose
popularity follows a Zipf law, with warm-up pings mixed in, spread over the environments as
Lambda scales out. The table at the end says, per function and tier stack, how often the cache
spared the slow database, how long requests took, and how many connections were opened.

Tiers: the execution-context tier alone by default (nothing to run); ``REDIS_URL``,
``MEMCACHED_URL`` and/or ``DYNAMODB_ENDPOINT_URL`` in the environment add runs with those tiers
behind it.
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import itertools
import multiprocessing as mp
import os
import queue
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from example_project import cache_config, events

HANDLERS = {
    "django": "example_project.django_app.handler",
    "flask": "example_project.flask_app.handler",
}
EVENT_SHAPES: dict[str, Callable[[str], dict[str, Any]]] = {
    "apigw-v1": events.apigw_v1,
    "apigw-v2": events.apigw_v2,
    "alb": events.alb,
    "function-url": events.function_url,
}
TIER_LABELS = {
    "memory": "execution context",
    "redis": "Redis",
    "memcached": "Memcached",
    "dynamodb": "DynamoDB",
}


@dataclass(frozen=True)
class Plan:
    """How big the simulated run is."""

    environments: int
    requests: int
    products: int
    zipf_s: float = 1.1
    warmup_share: float = 0.03
    page_share: float = 0.3
    seed: int = 7


FULL = Plan(environments=4, requests=2_000, products=500)
SHORT = Plan(environments=2, requests=300, products=100)


# -- traffic -------------------------------------------------------------------------------
def zipf_sampler(products: int, s: float, rng: random.Random) -> Callable[[], int]:
    """Product ids 1..products, id k drawn with probability proportional to 1 / k**s."""
    cumulative = list(itertools.accumulate(1.0 / k**s for k in range(1, products + 1)))
    total = cumulative[-1]
    return lambda: bisect.bisect_left(cumulative, rng.random() * total) + 1


@dataclass
class Job:
    """One invocation to send to an environment."""

    kind: str  # an EVENT_SHAPES name, or a warm-up name from events.WARMUP_EVENTS
    event: dict[str, Any]
    warmup: bool = False
    plugin_context: bool = False


def traffic(plan: Plan) -> list[list[Job]]:
    """The invocations of each environment, in order: Zipf keys, mixed shapes, warm-up pings.

    Lambda scales out under load: environment ``n`` gets its first request only after the
    first ``n / environments`` of the run, so later environments start cold mid-run.
    """
    rng = random.Random(plan.seed)
    product = zipf_sampler(plan.products, plan.zipf_s, rng)
    jobs: list[list[Job]] = [[] for _ in range(plan.environments)]
    ramp = max(1, plan.requests * 2 // 5)
    for number in range(plan.requests):
        active = min(plan.environments, 1 + number * plan.environments // ramp)
        target = jobs[rng.randrange(active)]
        if rng.random() < plan.warmup_share:
            name = rng.choice(sorted(events.WARMUP_EVENTS))
            via_context = name == "serverless-plugin-warmup" and rng.random() < 0.5
            event = {} if via_context else events.WARMUP_EVENTS[name]
            target.append(Job(name, event, warmup=True, plugin_context=via_context))
            continue
        page = "pages" if rng.random() < plan.page_share else "products"
        shape = rng.choice(sorted(EVENT_SHAPES))
        target.append(Job(shape, EVENT_SHAPES[shape](f"/{page}/{product()}")))
    return jobs


# -- one execution environment (a worker process) -------------------------------------------
@dataclass
class Outcome:
    """What one invocation did, as the environment saw it."""

    environment: int
    warmup: bool
    cold_start: bool
    status: int
    latency_ms: float
    init_ms: float
    db_queries: int
    connections: dict[str, int]
    tiers: dict[str, dict[str, Any]]


class _ConnectionCounter:
    """Counts sockets this process connects, per tier, through the ``socket.connect`` audit
    event: the real number, whatever client library opened them."""

    def __init__(self, ports: dict[int, str]) -> None:
        self.ports = ports
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, args: tuple[Any, ...]) -> None:
        if name != "socket.connect":
            return
        address = args[1]
        port = address[1] if isinstance(address, tuple) and len(address) >= 2 else None
        tier = self.ports.get(port, "other") if isinstance(port, int) else "other"
        self.counts[tier] = self.counts.get(tier, 0) + 1


def run_environment(
    function: str,
    number: int,
    environ: dict[str, str],
    ports: dict[int, str],
    jobs: list[Job],
    results: Any,
) -> None:
    """Body of a worker process: import the handler on the first event, then serve ``jobs``."""
    os.environ.update(environ)
    counter = _ConnectionCounter(ports)
    sys.addaudithook(counter)
    from example_project import database
    from serverless_cache import metrics

    handler: Callable[[Any, Any], Any] | None = None
    for job in jobs:
        init_ms = 0.0
        if handler is None:
            started = time.perf_counter()
            handler = importlib.import_module(HANDLERS[function]).lambda_handler
            init_ms = (time.perf_counter() - started) * 1000
        context = (
            events.plugin_warmup_context() if job.plugin_context else events.LambdaContext(function)
        )
        before_db, before_connections = database.calls, dict(counter.counts)
        started = time.perf_counter()
        response = handler(job.event, context)
        latency_ms = (time.perf_counter() - started) * 1000
        report = metrics.last_report() or {}
        status = 200 if job.warmup else int(response.get("statusCode", 0))
        connections = {
            tier: count - before_connections.get(tier, 0) for tier, count in counter.counts.items()
        }
        tiers: dict[str, dict[str, Any]] = {}
        for per_tier in report.get("caches", {}).values():
            for tier, entry in per_tier.items():
                tiers[tier] = entry
        results.put(
            Outcome(
                environment=number,
                warmup=job.warmup,
                cold_start=bool(report.get("cold_start")),
                status=status,
                latency_ms=latency_ms,
                init_ms=init_ms,
                db_queries=database.calls - before_db,
                connections=connections,
                tiers=tiers,
            )
        )
    results.put(None)


# -- the run -------------------------------------------------------------------------------
@dataclass
class Totals:
    """Everything one function's fleet did with one tier stack."""

    function: str
    stack: list[str]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def requests(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.warmup]


class Progress:
    """A one-line progress bar on stderr (a line per quarter when stderr is not a terminal)."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._next_quarter = 0

    def advance(self, label: str) -> None:
        self.done += 1
        fraction = self.done / self.total
        if self.tty:
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done:>5}/{self.total} {label:<28}")
            if self.done == self.total:
                self.stream.write("\n")
        elif fraction * 4 >= self._next_quarter + 1 or self.done == self.total:
            self._next_quarter = int(fraction * 4)
            self.stream.write(f"[{fraction:>4.0%}] {self.done}/{self.total} {label}\n")
        self.stream.flush()


def run_fleet(
    function: str,
    stack: list[str],
    plan: Plan,
    environ: dict[str, str],
    ports: dict[int, str],
    progress: Progress,
) -> Totals:
    """Start one process per environment, feed each its invocations, collect the outcomes."""
    context = mp.get_context("spawn")
    results = context.Queue()
    worker_environ = {
        **environ,
        "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
        "EXAMPLE_CACHE_TIERS": ",".join(stack),
        "EXAMPLE_CACHE_PREFIX": f"fleet-{uuid.uuid4().hex[:8]}",
    }
    plans = traffic(plan)
    workers = [
        context.Process(
            target=run_environment,
            args=(function, number, worker_environ, ports, jobs, results),
            daemon=True,
        )
        for number, jobs in enumerate(plans)
    ]
    for worker in workers:
        worker.start()
    totals = Totals(function, stack)
    running = len(workers)
    label = f"{function} / {'+'.join(stack)}"
    while running:
        try:
            outcome = results.get(timeout=1)
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"{label}: an environment exited with {dead[0]}") from None
            continue
        if outcome is None:
            running -= 1
            continue
        if outcome.status != 200:
            raise RuntimeError(f"{label}: a request failed with status {outcome.status}")
        totals.outcomes.append(outcome)
        progress.advance(label)
    for worker in workers:
        worker.join(timeout=30)
        if worker.exitcode != 0:
            raise RuntimeError(f"{label}: environment exited with {worker.exitcode}")
    return totals


# -- configuration from the environment -----------------------------------------------------
def _port(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or default


def stacks_from_environment(environ: dict[str, str]) -> tuple[list[list[str]], dict[int, str]]:
    """The tier stacks to run and which ports belong to which tier."""
    stacks = [["memory"]]
    ports: dict[int, str] = {}
    shared: list[str] = []
    for tier, variable, default_port in (
        ("redis", "REDIS_URL", 6379),
        ("memcached", "MEMCACHED_URL", 11211),
        ("dynamodb", "DYNAMODB_ENDPOINT_URL", 443),
    ):
        if environ.get(variable):
            shared.append(tier)
            ports[_port(environ[variable], default_port)] = tier
    for tier in shared:
        stacks.append(["memory", tier])
    if len(shared) > 1:
        stacks.append(["memory", *shared])
    return stacks, ports


def create_demo_table(environ: dict[str, str]) -> None:
    """Create the DynamoDB table once before the run, as a deployment would (never per request)."""
    from serverless_cache.aws.dynamodb_table import create_table

    create_table(
        environ.get("DYNAMODB_TABLE", cache_config.DEFAULT_TABLE),
        region_name=environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=environ["DYNAMODB_ENDPOINT_URL"],
    )


# -- report --------------------------------------------------------------------------------
def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for number, row in enumerate([headers, *rows]):
        cells = [
            str(cell).ljust(width) if index < 2 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def summary_rows(all_totals: Sequence[Totals]) -> list[list[str]]:
    rows = []
    for totals in all_totals:
        requests = totals.requests
        latencies = [o.latency_ms for o in requests]
        spared = sum(1 for o in requests if o.db_queries == 0)
        rows.append(
            [
                totals.function,
                "+".join(totals.stack),
                str(len(requests)),
                str(len(totals.outcomes) - len(requests)),
                str(sum(o.cold_start for o in totals.outcomes)),
                f"{spared / len(requests):.1%}" if requests else "-",
                f"{_percentile(latencies, 0.5):.2f}",
                f"{_percentile(latencies, 0.95):.2f}",
                str(sum(o.db_queries for o in totals.outcomes)),
                str(sum(sum(o.connections.values()) for o in totals.outcomes)),
            ]
        )
    return rows


def tier_rows(all_totals: Sequence[Totals]) -> list[list[str]]:
    rows = []
    for totals in all_totals:
        for tier in totals.stack:
            entries = [o.tiers[tier] for o in totals.outcomes if tier in o.tiers]
            hits = sum(e["hits"] for e in entries)
            misses = sum(e["misses"] for e in entries)
            samples = [s for e in entries for s in e["latency_ms"]]
            connections = sum(o.connections.get(tier, 0) for o in totals.outcomes)
            rows.append(
                [
                    totals.function,
                    TIER_LABELS.get(tier, tier),
                    str(hits + misses),
                    f"{hits / (hits + misses):.1%}" if hits + misses else "-",
                    str(sum(e["promotions"] for e in entries)),
                    f"{_percentile(samples, 0.5):.2f}" if samples else "-",
                    f"{_percentile(samples, 0.95):.2f}" if samples else "-",
                    str(sum(e["errors"] for e in entries)),
                    str(connections),
                ]
            )
    return rows


def report(all_totals: Sequence[Totals], plan: Plan, tiers_used: list[str]) -> str:
    cold = sum(o.init_ms for t in all_totals for o in t.outcomes if o.init_ms)
    starts = sum(1 for t in all_totals for o in t.outcomes if o.init_ms)
    summary = _table(
        [
            "function",
            "tiers",
            "requests",
            "warm-ups",
            "cold starts",
            "hit rate",
            "p50 ms",
            "p95 ms",
            "db queries",
            "connections",
        ],
        summary_rows(all_totals),
    )
    per_tier = _table(
        [
            "function",
            "tier",
            "lookups",
            "hit rate",
            "promotions",
            "p50 ms",
            "p95 ms",
            "errors",
            "connections",
        ],
        tier_rows(all_totals),
    )
    return "\n".join(
        [
            "",
            "Per function and tier stack (hit rate: requests that never reached the slow database;",
            "latency: the handler's time per request, the cold-start import not included):",
            "",
            summary,
            "",
            "Per tier (lookups and hits counted by serverless_cache.metrics; latency per store",
            "round trip, '-' for the in-process tier, which is not timed; connections: sockets"
            " opened):",
            "",
            per_tier,
            "",
            f"Tiers used: {', '.join(TIER_LABELS.get(t, t) for t in tiers_used)}."
            f" Cold starts took {cold / max(starts, 1):.0f} ms on average to import a handler.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m example_project.fleet", description=__doc__)
    parser.add_argument("--short", action="store_true", help="a small run for CI (under a minute)")
    parser.add_argument("--environments", type=int, help="execution environments per function")
    parser.add_argument("--requests", type=int, help="requests per function and tier stack")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    plan = SHORT if args.short else FULL
    plan = Plan(
        environments=args.environments or plan.environments,
        requests=args.requests or plan.requests,
        products=plan.products,
        seed=args.seed,
    )
    environ = dict(os.environ)
    environ.setdefault("EXAMPLE_DB_DELAY", "0.02")
    stacks, ports = stacks_from_environment(environ)
    tiers_used = sorted({tier for stack in stacks for tier in stack}, key=list(TIER_LABELS).index)
    print(
        f"serverless-cache fleet: {len(HANDLERS)} functions x {plan.environments} execution "
        f"environments, {plan.requests} requests per function and tier stack, Zipf(s={plan.zipf_s})"
        f" over {plan.products} products, {float(environ['EXAMPLE_DB_DELAY']) * 1000:.0f} ms "
        f"database, {plan.warmup_share:.0%} warm-up pings."
    )
    print(f"Tier stacks: {'; '.join(' -> '.join(TIER_LABELS[t] for t in s) for s in stacks)}.")
    if len(stacks) == 1:
        print("Set REDIS_URL, MEMCACHED_URL and/or DYNAMODB_ENDPOINT_URL to add the shared tiers.")
    if "dynamodb" in tiers_used:
        create_demo_table(environ)
    sys.stdout.flush()
    progress = Progress(plan.requests * len(HANDLERS) * len(stacks))
    all_totals = [
        run_fleet(function, stack, plan, environ, ports, progress)
        for stack in stacks
        for function in HANDLERS
    ]
    print(report(all_totals, plan, tiers_used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
