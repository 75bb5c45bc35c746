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
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from example_project import cache_config, events
from example_project.fleet_report import TIER_LABELS, Outcome, Totals, report

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
#: The warm-ups these functions receive. Zappa's keep-warm goes only to functions deployed with
#: Zappa (example_project/flask_app/zappa_handler.py); these are Mangum and apig-wsgi functions.
WARMUP_EVENTS = {
    name: event for name, event in events.WARMUP_EVENTS.items() if name != "zappa-keep-warm"
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
            name = rng.choice(sorted(WARMUP_EVENTS))
            via_context = name == "serverless-plugin-warmup" and rng.random() < 0.5
            event = {} if via_context else WARMUP_EVENTS[name]
            target.append(Job(name, event, warmup=True, plugin_context=via_context))
            continue
        page = "pages" if rng.random() < plan.page_share else "products"
        shape = rng.choice(sorted(EVENT_SHAPES))
        target.append(Job(shape, EVENT_SHAPES[shape](f"/{page}/{product()}")))
    return jobs


# -- one execution environment (a worker process) -------------------------------------------
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
        before_db, before_connections = database.calls, dict(counter.counts)
        if handler is None:  # the init phase: its connections count with the first invocation
            started = time.perf_counter()
            handler = importlib.import_module(HANDLERS[function]).lambda_handler
            init_ms = (time.perf_counter() - started) * 1000
        context = (
            events.plugin_warmup_context() if job.plugin_context else events.LambdaContext(function)
        )
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
    print(report(all_totals, tiers_used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
