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
import itertools
import os
import queue
import random
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from example_project import (
    adapter_stack,
    cache_config,
    costs,
    events,
    html_report,
    servers,
    snapstart,
    zappa_package,
)
from example_project.execution import Environment
from example_project.fleet_report import TIER_LABELS, Outcome, Progress, Totals, report

FUNCTIONS = {
    "django": "example_project.django_app.handler",
    "flask": "example_project.flask_app.handler",
}
#: The same apps deployed with Zappa: zappa.handler.lambda_handler, wrapped.
ZAPPA_FUNCTIONS = {
    "zappa-django": "example_project.django_app.zappa_handler",
    "zappa-flask": "example_project.flask_app.zappa_handler",
}
HANDLERS = {**FUNCTIONS, **ZAPPA_FUNCTIONS}
EVENT_SHAPES: dict[str, Callable[[str], dict[str, Any]]] = {
    "apigw-v1": events.apigw_v1,
    "apigw-v2": events.apigw_v2,
    "alb": events.alb,
    "function-url": events.function_url,
}
#: The warm-ups the Mangum and apig-wsgi functions receive; Zappa's keep-warm goes only to the
#: functions deployed with Zappa (they receive every one of events.WARMUP_EVENTS).
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
    #: Freezes per environment longer than the demo servers' idle timeout: connections die.
    long_freezes: int = 2
    freeze_s: float = 2.5
    #: The demo's redis-server ``timeout`` and memcached ``idle_timeout`` (whole seconds; both
    #: servers close an idle connection between one and two timeouts after its last use).
    idle_timeout_s: int = 1
    #: Environments restored from one SnapStart snapshot, per function.
    restores: int = 3


FULL = Plan(environments=4, requests=2_000, products=500)
SHORT = Plan(environments=2, requests=300, products=100, long_freezes=1)


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
    idle_s: float = 0.0  # how long the environment stays frozen before this invocation


def traffic(plan: Plan, warmups: dict[str, dict[str, Any]] = WARMUP_EVENTS) -> list[list[Job]]:
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
            name = rng.choice(sorted(warmups))
            via_context = name == "serverless-plugin-warmup" and rng.random() < 0.5
            event = {} if via_context else warmups[name]
            target.append(Job(name, event, warmup=True, plugin_context=via_context))
            continue
        page = "pages" if rng.random() < plan.page_share else "products"
        shape = rng.choice(sorted(EVENT_SHAPES))
        target.append(Job(shape, EVENT_SHAPES[shape](f"/{page}/{product()}")))
    for environment in jobs:  # the long freezes, spread over each environment's invocations
        for number in range(1, plan.long_freezes + 1):
            index = len(environment) * number // (plan.long_freezes + 1)
            if index > 0:
                environment[index].idle_s = plan.freeze_s
    return jobs


# -- one execution environment (an awslambdaric process) -----------------------------------
def plugin_client_context() -> dict[str, Any]:
    """The client context serverless-plugin-warmup invokes with (its marker in ``custom``)."""
    return {"custom": {"source": "serverless-plugin-warmup"}}


def run_environment(
    function: str,
    number: int,
    environ: dict[str, str],
    ports: dict[int, str],
    jobs: list[Job],
    long_freezes: bool,
    results: queue.Queue[Outcome | BaseException | None],
) -> None:
    """Serve ``jobs`` in one environment, frozen between invocations (thread body)."""
    try:
        environment = Environment(function, HANDLERS[function], environ, ports)
    except BaseException as exc:
        results.put(exc)
        return
    try:
        for index, job in enumerate(jobs):
            frozen_s = job.idle_s if long_freezes else 0.0
            if index:
                environment.freeze(frozen_s)
            context = plugin_client_context() if job.plugin_context else None
            body = environment.invoke(job.event, context)
            measured, response = body["measured"], body["response"]
            status = 200 if job.warmup else int(response.get("statusCode", 0))
            results.put(
                Outcome(
                    environment=number,
                    warmup=job.warmup,
                    cold_start=measured["cold_start"],
                    status=status,
                    latency_ms=measured["latency_ms"],
                    init_ms=measured["init_ms"],
                    db_queries=measured["db_queries"],
                    connections=measured["connections"],
                    tiers=measured["tiers"],
                    thawed=index > 0,
                    frozen_s=frozen_s if index else 0.0,
                    dead=measured["dead"],
                )
            )
    except BaseException as exc:
        results.put(exc)
    finally:
        environment.close()
        results.put(None)


# -- the run -------------------------------------------------------------------------------
def run_fleet(
    function: str,
    stack: list[str],
    plan: Plan,
    environ: dict[str, str],
    ports: dict[int, str],
    progress: Progress,
) -> Totals:
    """Start the environments, feed each its invocations, collect the outcomes."""
    results: queue.Queue[Outcome | BaseException | None] = queue.Queue()
    worker_environ = {
        **environ,
        "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
        "EXAMPLE_CACHE_TIERS": ",".join(stack),
        "EXAMPLE_CACHE_PREFIX": f"fleet-{uuid.uuid4().hex[:8]}",
    }
    long_freezes = stack != ["memory"]  # only a shared tier has connections to lose
    workers = [
        threading.Thread(
            target=run_environment,
            args=(function, number, worker_environ, ports, jobs, long_freezes, results),
            daemon=True,
        )
        for number, jobs in enumerate(
            traffic(plan, events.WARMUP_EVENTS if function in ZAPPA_FUNCTIONS else WARMUP_EVENTS)
        )
    ]
    for worker in workers:
        worker.start()
    totals = Totals(function, stack)
    running = len(workers)
    label = f"{function} / {'+'.join(stack)}"
    failure: BaseException | None = None
    while running:
        outcome = results.get()
        if outcome is None:
            running -= 1
        elif isinstance(outcome, BaseException):
            failure = failure or outcome
        elif outcome.status != 200:
            failure = failure or RuntimeError(f"a request failed with status {outcome.status}")
        else:
            totals.outcomes.append(outcome)
            progress.advance(label)
    for worker in workers:
        worker.join(timeout=30)
    if failure is not None:
        raise RuntimeError(f"{label}: {failure}") from failure
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m example_project.fleet", description=__doc__)
    parser.add_argument("--short", action="store_true", help="a small run for CI (under a minute)")
    parser.add_argument("--environments", type=int, help="execution environments per function")
    parser.add_argument("--requests", type=int, help="requests per function and tier stack")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-servers",
        action="store_true",
        help="start no redis-server or memcached of the demo's own (the in-process tier alone"
        " unless REDIS_URL, MEMCACHED_URL or DYNAMODB_ENDPOINT_URL is set)",
    )
    parser.add_argument(
        "--prices", type=Path, help="a price file like example_project/data/prices.json"
    )
    parser.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one price of the cost table (e.g. lambda_gb_second=0.0000133334)",
    )
    parser.add_argument("--html", type=Path, help="also write an HTML report with charts here")
    args = parser.parse_args(argv)
    try:
        prices = costs.load_prices(args.prices, args.price)
    except (costs.PriceError, OSError, ValueError) as exc:
        parser.error(str(exc))
    plan = SHORT if args.short else FULL
    plan = replace(
        plan,
        environments=args.environments or plan.environments,
        requests=args.requests or plan.requests,
        seed=args.seed,
    )
    environ = dict(os.environ)
    environ.setdefault("EXAMPLE_DB_DELAY", "0.02")
    with ExitStack() as stack:
        started = (
            [] if args.no_servers else servers.start_missing(environ, plan.idle_timeout_s, stack)
        )
        return run(plan, environ, started, prices, args.html)


def run(
    plan: Plan,
    environ: dict[str, str],
    started: list[str],
    prices: dict[str, Any],
    html: Path | None = None,
) -> int:
    """The whole demo, once its servers run."""
    stacks, ports = cache_config.stacks_from_environment(environ)
    tiers_used = sorted({tier for stack in stacks for tier in stack}, key=list(TIER_LABELS).index)
    print(
        f"serverless-cache fleet: {len(FUNCTIONS)} functions x {plan.environments} execution "
        f"environments, {plan.requests} requests per function and tier stack, Zipf(s={plan.zipf_s})"
        f" over {plan.products} products, {float(environ['EXAMPLE_DB_DELAY']) * 1000:.0f} ms "
        f"database, {plan.warmup_share:.0%} warm-up pings."
    )
    print(
        "Each environment is the real runtime client (awslambdaric) polling a Runtime API on"
        " loopback, frozen (SIGSTOP) between invocations;"
        f" {plan.long_freezes} freeze(s) per environment last {plan.freeze_s:g} s in the stacks"
        " with a shared tier."
    )
    if started:
        print(
            f"Started {' and '.join(started)} for the demo, closing connections idle for"
            f" {plan.idle_timeout_s} s (so while an environment is frozen)."
        )
    print(f"Tier stacks: {'; '.join(' -> '.join(TIER_LABELS[t] for t in s) for s in stacks)}.")
    if len(stacks) == 1:
        print(
            "Install redis-server and memcached, or set REDIS_URL, MEMCACHED_URL and/or"
            " DYNAMODB_ENDPOINT_URL, to add the shared tiers."
        )
    if "dynamodb" in tiers_used:
        cache_config.create_demo_table(environ)
    sys.stdout.flush()
    zappa_plan = replace(plan, requests=plan.requests // 4)  # the side stacks: smaller runs
    progress = Progress((plan.requests * len(stacks) + zappa_plan.requests) * len(FUNCTIONS))
    all_totals = []
    with ThreadPoolExecutor(len(FUNCTIONS)) as pool:  # the functions' fleets side by side
        for stack in stacks:
            runs = [
                pool.submit(run_fleet, function, stack, plan, environ, ports, progress)
                for function in FUNCTIONS
            ]
            all_totals += [run.result() for run in runs]
    adapter_tiers = ["memory", "redis"] if "redis" in tiers_used else ["memory"]
    with ThreadPoolExecutor(2 + len(FUNCTIONS)) as pool:  # the side stacks, side by side
        sections = [
            pool.submit(zappa_package.demonstrate, zappa_plan, stacks[-1], environ, ports, progress)
        ]
        for function in FUNCTIONS:
            snap_environ = {
                **environ,
                "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
                "EXAMPLE_CACHE_TIERS": ",".join(stacks[-1]),
                "EXAMPLE_CACHE_PREFIX": f"snap-{uuid.uuid4().hex[:8]}",
            }
            restores = (function, HANDLERS[function], snap_environ, ports, plan.restores)
            sections.append(pool.submit(snapstart.demonstrate, *restores))
        adapter_jobs = traffic(zappa_plan)
        sections.append(
            pool.submit(
                adapter_stack.demonstrate, adapter_jobs, environ, adapter_tiers, plan.freeze_s
            )
        )
        print(report(all_totals, tiers_used))
        print()
        print(costs.cost_table(all_totals, prices))
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(html_report.render(all_totals, prices))
            print(f"\nWrote the HTML report to {html}.")
        for section in sections:
            print(section.result())
    return 0


if __name__ == "__main__":
    sys.exit(main())
