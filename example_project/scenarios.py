"""Faults on a simulated fleet: the shared store frozen or the database failing, as users see it.

``python -m example_project.scenarios`` (run by ``make demo`` after the fleet; ``--short`` for
CI). For each scenario, every stack runs at once on its own redis-server: several execution
environments (worker processes) send reads (``get_or_set`` of a product, Zipf keys) and writes
(the database row, then ``cache.set``) through Django's cache API at a steady rate:

- ``baseline``: nothing goes wrong (the reference for database calls);
- ``outage``: the stack's redis-server is frozen (SIGSTOP) for a few seconds, then continued;
- ``failing-db``: meanwhile the database raises on a share of its calls instead.

A read is *stale* when a newer version of its product had been acknowledged (written to the
database and the cache call returned) before the read was sent; its age is how long before.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import random
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from example_project import servers
from example_project.fleet import zipf_sampler
from example_project.scenario_report import Event, Run, report

#: Seconds each product stays cached, and the layered L1's CAP.
TTL = 20.0
CAP = 1.0
#: With a failing database, products expire while it fails: that is when a fallback matters.
FAILING_DB_TTL = 1.0
#: Short timeouts, as on Lambda: a frozen server costs this much per call until the breaker opens.
TIMEOUT = 0.25
RESILIENT = {
    "FAIL_SAFE_MAX_AGE": 60,
    "FACTORY_SOFT_TIMEOUT": 0.1,
    "EAGER_REFRESH": 0.8,
    "JITTER": 0.1,
    "LEASE": True,
}

#: The layered cache whose L1 hears every write at once (Redis client tracking).
PUSH = {"INVALIDATION": "push", "LEASE": True}


@dataclass(frozen=True)
class Plan:
    environments: int = 4
    rate: float = 100.0  # requests per second, per stack
    write_share: float = 0.05
    products: int = 200
    before: float = 2.0  # seconds before the fault
    fault: float = 3.0  # seconds of the fault
    after: float = 3.0  # seconds after it
    db_failure_share: float = 0.3
    db_delay: float = 0.02

    @property
    def duration(self) -> float:
        return self.before + self.fault + self.after


FULL = Plan()
SHORT = Plan(environments=2, rate=60.0, products=50, before=1.0, fault=1.5, after=1.5)
#: The scenarios and the ttl of their products.
SCENARIOS = {"baseline": TTL, "outage": TTL, "failing-db": FAILING_DB_TTL}


def stacks(redis_url: str) -> dict[str, dict[str, Any]]:
    """Django CACHES entries of every stack, on one redis-server."""
    timeouts = {"CONNECT_TIMEOUT": TIMEOUT, "SOCKET_TIMEOUT": TIMEOUT}
    redis = {"BACKEND": "serverless_cache.django.RedisCache", "LOCATION": redis_url}
    layered_tiers = [
        {"TIER": "memory", "CAP": CAP},
        {"TIER": "redis", "LOCATION": redis_url, "OPTIONS": timeouts},
    ]
    layered = {"BACKEND": "serverless_cache.django.LayeredCache", "LOCATION": "scenario"}
    return {
        "django-redis": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": TIMEOUT,
                "SOCKET_TIMEOUT": TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
            },
        },
        "redis": {**redis, "OPTIONS": timeouts},
        "redis + fail-safe": {**redis, "OPTIONS": {**timeouts, **RESILIENT}},
        "layered": {**layered, "OPTIONS": {"TIERS": layered_tiers, "LEASE": True}},
        "layered + fail-safe": {**layered, "OPTIONS": {"TIERS": layered_tiers, **RESILIENT}},
        "layered + push": {**layered, "OPTIONS": {"TIERS": layered_tiers, **PUSH}},
    }


class DatabaseError(Exception):
    """The database refused a query (the failing-database scenario)."""


@dataclass(frozen=True)
class Environment:
    """What one worker process needs: its stack, its share of the traffic, the fault window."""

    stack: str
    number: int
    cache: dict[str, Any]
    plan: Plan
    scenario: str
    seed: int
    ttl: float


def run_environment(env: Environment, versions: Any, start: Any, results: Any) -> None:
    """Body of a worker: configure Django with the stack, say it is ready, wait for the start
    time every worker shares, then send requests until the end."""
    import django
    from django.conf import settings

    # The faults are on purpose: the library's throttled warnings would only repeat them.
    logging.getLogger("serverless_cache").addHandler(logging.NullHandler())
    logging.getLogger("serverless_cache").propagate = False

    settings.configure(CACHES={"default": env.cache}, USE_TZ=True)
    django.setup()
    from django.core.cache import cache

    plan, rng = env.plan, random.Random(env.seed)
    product = zipf_sampler(plan.products, 1.1, rng)
    cache.get("warm-up")  # connect before the clock starts, as an init phase would
    results.put(("ready", [], []))
    start.wait()
    start_at = start.value
    fault_from, fault_to = start_at + plan.before, start_at + plan.before + plan.fault
    events: list[Event] = []
    db_calls: list[float] = []

    def read_database(product_id: int) -> dict[str, int]:
        now = time.time()
        db_calls.append(now)
        failing = env.scenario == "failing-db" and fault_from <= now < fault_to
        version = int(versions[product_id])  # the snapshot the query sees
        time.sleep(plan.db_delay)
        if failing and rng.random() < plan.db_failure_share:
            raise DatabaseError("the database refused the query")
        return {"id": product_id, "version": version}

    interval = plan.environments / plan.rate
    scheduled = start_at + rng.random() * interval
    while scheduled < start_at + plan.duration:
        time.sleep(max(0.0, scheduled - time.time()))
        scheduled += interval
        product_id, sent = product(), time.time()
        key = f"product:{product_id}"
        try:
            if rng.random() < plan.write_share:
                with versions.get_lock():
                    versions[product_id] += 1
                    version = int(versions[product_id])
                cache.set(key, {"id": product_id, "version": version}, env.ttl)
                events.append(
                    Event("write", product_id, version, sent, time.time(), "", env.number)
                )
            else:
                calls = len(db_calls)
                value = cache.get_or_set(key, lambda p=product_id: read_database(p), env.ttl)
                cached = len(db_calls) == calls
                read = Event(
                    "read", product_id, value["version"], sent, time.time(), "", env.number, cached
                )
                events.append(read)
        except Exception as exc:  # what a user would see as a 500
            error = type(exc).__name__
            events.append(Event("error", product_id, -1, sent, time.time(), error, env.number))
    results.put((env.stack, events, db_calls))


def run_scenario(scenario: str, plan: Plan, seed: int) -> list[Run]:
    """Every stack at once, each on its own redis-server, with the scenario's fault."""
    context = mp.get_context("spawn")
    with ExitStack() as running:
        redis = {
            name: running.enter_context(servers.redis_server()) for name in stacks("redis://unused")
        }
        prefix = uuid.uuid4().hex[:8]
        results = context.Queue()
        start = _StartSignal(context)
        versions = {name: context.Array("q", plan.products + 1) for name in redis}
        workers = []
        for name, server in redis.items():
            cache = {**stacks(server.url)[name], "KEY_PREFIX": prefix}
            for number in range(plan.environments):
                ttl = SCENARIOS[scenario]
                env = Environment(name, number, cache, plan, scenario, seed * 100 + number, ttl)
                args = (env, versions[name], start, results)
                workers.append(context.Process(target=run_environment, args=args, daemon=True))
        for worker in workers:
            worker.start()
        for _ in workers:
            results.get(timeout=120)  # each one ready: imports done, connected
        start_at = start.go(time.time() + 0.5)
        fault_from, fault_to = start_at + plan.before, start_at + plan.before + plan.fault
        if scenario == "outage":
            _freeze(list(redis.values()), fault_from, plan.fault)
        runs = {name: Run(scenario, name, start_at, fault_from, fault_to) for name in redis}
        for _ in workers:
            name, events, db_calls = results.get(timeout=plan.duration + 60)
            runs[name].events.extend(events)
            runs[name].db_calls.extend(db_calls)
        for worker in workers:
            worker.join(timeout=30)
    return list(runs.values())


class _StartSignal:
    """The start time every worker waits for, set once they are all ready."""

    def __init__(self, context: Any) -> None:
        self._event = context.Event()
        self._value = context.Value("d", 0.0)

    def go(self, at: float) -> float:
        self._value.value = at
        self._event.set()
        return at

    def wait(self) -> None:
        self._event.wait()

    @property
    def value(self) -> float:
        return float(self._value.value)


def _freeze(redis: Sequence[servers.Redis], at: float, seconds: float) -> None:
    time.sleep(max(0.0, at - time.time()))
    for server in redis:
        server.pause()
    time.sleep(seconds)
    for server in redis:
        server.resume()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m example_project.scenarios", description=__doc__
    )
    parser.add_argument("--short", action="store_true", help="a small run for CI")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not servers.available("redis-server"):
        print("The fault scenarios need redis-server on PATH (Debian: redis-server); skipped.")
        return 0
    plan = SHORT if args.short else FULL
    print(
        f"Fault scenarios: {plan.environments} environments per stack, {plan.rate:g} requests/s, "
        f"{plan.write_share:.0%} writes, Zipf keys over {plan.products} products, ttl {TTL:g} s "
        f"(layered L1 CAP {CAP:g} s; {FAILING_DB_TTL:g} s with the failing database); the fault "
        f"lasts {plan.fault:g} s after {plan.before:g} s."
    )
    sys.stdout.flush()
    runs = [run for scenario in SCENARIOS for run in run_scenario(scenario, plan, args.seed)]
    caps = {"layered": CAP, "layered + fail-safe": CAP, "layered + push": CAP}
    print(report(runs, caps=caps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
