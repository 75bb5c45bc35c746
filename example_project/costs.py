"""What each demo stack would cost per million requests, from the demo's own counts.

The counts (requests, handler time, lookups and writes per tier, database queries) come from
the run; the prices are inputs, from ``example_project/data/prices.json`` (dated, each with its
source) or ``--prices FILE``, and any one can be overridden with ``--price NAME=VALUE``. Fixed
costs (ElastiCache node-hours, Serverless's minimum storage, the API Gateway cache) are spread
over the hours a million requests take at each of the seed's three traffic levels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from example_project.fleet_report import Totals, _table

PRICES = Path(__file__).with_name("data") / "prices.json"
#: The seed's traffic levels, and the requests per minute each is priced at.
LEVELS = (
    ("low", "< 100 req/min", 50.0),
    ("medium", "100-1,000 req/min", 500.0),
    ("high", "> 1,000 req/min", 5_000.0),
)


class PriceError(ValueError):
    """A --price or --prices that cannot be used: names the input and what to do."""


def load_prices(path: Path | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The price file (``path`` or the shipped one) with ``NAME=VALUE`` overrides applied."""
    data = json.loads((path or PRICES).read_text())
    prices = data["prices"]
    for override in overrides:
        name, _, value = override.partition("=")
        if name not in prices:
            raise PriceError(f"--price {override!r}: no price {name!r}; known: {', '.join(prices)}")
        try:
            prices[name] = float(value)
        except ValueError:
            raise PriceError(f"--price {override!r}: {value!r} is not a number") from None
        data["sources"][name] = "given on the command line"
    return data  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Usage:
    """Per request, averaged over a stack's runs (both functions)."""

    stack: list[str]
    duration_ms: float
    lookups: dict[str, float]  # per shared tier
    writes: dict[str, float]
    db_queries: float


def usage(all_totals: Sequence[Totals]) -> list[Usage]:
    by_stack: dict[str, list[Totals]] = {}
    for totals in all_totals:
        by_stack.setdefault("+".join(totals.stack), []).append(totals)
    result = []
    for runs in by_stack.values():
        outcomes = [o for t in runs for o in t.outcomes]
        count = max(1, len(outcomes))
        stack = runs[0].stack
        shared = stack[1:]

        def per_request(
            tier: str, *counters: str, outcomes: list[Any] = outcomes, count: int = count
        ) -> float:
            total = sum(o.tiers.get(tier, {}).get(c, 0) for o in outcomes for c in counters)
            return float(total) / count

        result.append(
            Usage(
                stack=stack,
                duration_ms=sum(o.latency_ms for o in outcomes) / count,
                lookups={tier: per_request(tier, "hits", "misses") for tier in shared},
                writes={tier: per_request(tier, "sets") for tier in shared},
                db_queries=sum(o.db_queries for o in outcomes) / count,
            )
        )
    return result


def cost_per_million(item: Usage, level: str, rpm: float, p: dict[str, float]) -> dict[str, float]:
    """Dollars per million requests at ``rpm``, by line item."""
    hours = 1e6 / rpm / 60  # how long a million requests take at this level
    gb_seconds = item.duration_ms / 1000 * p["lambda_memory_mb"] / 1024
    costs = {
        "lambda": 1e6 * (gb_seconds * p["lambda_gb_second"] + p["lambda_request"]),
        "database": 1e6 * item.db_queries * p["database_query"],
    }
    for tier in item.stack[1:]:
        if tier == "dynamodb":
            costs["dynamodb"] = 1e6 * (
                item.lookups[tier] * p["dynamodb_read_request_unit"]
                + item.writes[tier] * p["dynamodb_write_request_unit"]
            )
        else:  # Redis and Memcached: ElastiCache nodes
            nodes = p[f"elasticache_nodes_{level}"] * p[f"elasticache_node_hour_{level}"]
            costs[tier] = hours * nodes
    return costs


def serverless_redis(item: Usage, rpm: float, p: dict[str, float]) -> float:
    """ElastiCache Serverless instead of Redis nodes: minimum storage plus ECPUs."""
    hours = 1e6 / rpm / 60
    ecpus = 1e6 * (item.lookups.get("redis", 0) + item.writes.get("redis", 0))
    storage = hours * p["elasticache_serverless_min_gb"] * p["elasticache_serverless_gb_hour"]
    return storage + ecpus * p["elasticache_serverless_ecpu"]


def _break_even(label: str, priced: list[tuple[float, Usage, Any, Any, Any]]) -> str:
    """The database price per query above which the cheapest shared stack beats L1 alone."""
    alone = [(total, item) for total, item, *_ in priced if item.stack == ["memory"]]
    if not alone:
        return f"  {label}: -"
    base_total, base = alone[0]
    options = [
        ((total - base_total) / ((base.db_queries - item.db_queries) * 1e6), item)
        for total, item, *_ in priced
        if item.db_queries < base.db_queries and item.stack != ["memory"]
    ]
    if not options:
        return f"  {label}: no shared stack spared a query here"
    price, item = min(options, key=lambda option: option[0])
    return f"  {label}: ${price:.6f} per query ({'+'.join(item.stack)})"


def cost_table(all_totals: Sequence[Totals], data: dict[str, Any]) -> str:
    """One row per traffic level and stack; the cheapest stack of each level marked."""
    prices = data["prices"]
    rows: list[list[str]] = []
    breakeven: list[str] = []
    for level, label, rpm in LEVELS:
        priced = []
        for item in usage(all_totals):
            costs = cost_per_million(item, level, rpm, prices)
            shared = sum(v for k, v in costs.items() if k not in ("lambda", "database"))
            serverless = "-"
            if "redis" in item.stack:
                swapped = sum(costs.values()) - costs["redis"] + serverless_redis(item, rpm, prices)
                serverless = f"{swapped:.2f}"
            priced.append((sum(costs.values()), item, costs, shared, serverless))
        cheapest = min(total for total, *_ in priced)
        breakeven.append(_break_even(label, priced))
        for total, item, costs, shared, serverless in priced:
            rows.append(
                [
                    f"{level} ({label})",
                    "+".join(item.stack),
                    f"{costs['lambda']:.2f}",
                    f"{shared:.2f}",
                    f"{costs['database']:.2f}",
                    f"{item.db_queries * 1e6:,.0f}",
                    f"{total:.2f}",
                    serverless,
                    "<- favoured" if total == cheapest else "",
                ]
            )
    edge = [
        f"  {label}: API Gateway cache (0.5 GB) "
        f"{1e6 / rpm / 60 * prices['apigateway_cache_hour_0_5_gb']:.2f}, CloudFront requests "
        f"{1e6 * prices['cloudfront_https_request']:.2f}"
        for _, label, rpm in LEVELS
    ]
    headers = [
        "traffic",
        "tiers",
        "Lambda $",
        "shared tiers $",
        "database $",
        "db queries",
        "total $",
        "Serverless Redis $",
        "",
    ]
    return "\n".join(
        [
            f"What it costs, in dollars per million requests ({data['region']}, prices of"
            f" {data['recorded']}, from {PRICES.name} or --prices, each overridable with"
            " --price NAME=VALUE). Lambda: duration as measured here at"
            f" {prices['lambda_memory_mb']:.0f} MB, plus requests; shared tiers: DynamoDB"
            " on-demand per lookup and write, ElastiCache node-hours (Redis, Memcached) spread"
            " over the hours a million requests take at the level; Serverless Redis: the total"
            " with ElastiCache Serverless (minimum storage and ECPUs) in place of Redis nodes;"
            " database: --price database_query (0 unless given).",
            "",
            _table(headers, rows),
            "",
            "A shared tier pays for itself once a database query costs more than (the extra"
            " dollars over the fewer queries, per level):",
            *breakeven,
            "In front of any stack, per million requests:",
            *edge,
        ]
    )
