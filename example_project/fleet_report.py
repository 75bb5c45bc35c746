"""What the simulated fleet measured, and the tables ``make demo`` prints at the end."""

from __future__ import annotations

import statistics
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class Progress:
    """A one-line progress bar on stderr (a line per quarter when stderr is not a terminal)."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._next_quarter = 0
        self._lock = threading.Lock()  # the functions' fleets run side by side

    def advance(self, label: str) -> None:
        with self._lock:
            self._advance(label)

    def _advance(self, label: str) -> None:
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


TIER_LABELS = {
    "memory": "execution context",
    "redis": "Redis",
    "memcached": "Memcached",
    "dynamodb": "DynamoDB",
}


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
    thawed: bool = False  # the environment was frozen before this invocation
    frozen_s: float = 0.0
    dead: dict[str, int] = field(default_factory=dict)  # sockets found closed at the thaw


@dataclass
class Totals:
    """Everything one function's fleet did with one tier stack."""

    function: str
    stack: list[str]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def requests(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.warmup]


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 2) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for number, row in enumerate([headers, *rows]):
        cells = [
            str(cell).ljust(width) if index < text_columns else str(cell).rjust(width)
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
                    "+".join(totals.stack),
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


def thaw_rows(all_totals: Sequence[Totals]) -> list[list[str]]:
    """Per stack: what freezing did to the connections, and what the first request paid."""
    rows = []
    for totals in all_totals:
        thawed = [o for o in totals.outcomes if o.thawed]
        long = [o for o in thawed if o.frozen_s > 0]
        cached = [o.latency_ms for o in long if o.db_queries == 0 and not o.warmup]
        latencies = [o.latency_ms for o in totals.requests]
        rows.append(
            [
                totals.function,
                "+".join(totals.stack),
                str(len(thawed)),
                str(len(long)),
                str(sum(sum(o.dead.values()) for o in long)),
                str(sum(sum(o.connections.values()) for o in long)),
                str(sum(e["errors"] for o in long for e in o.tiers.values())),
                f"{max(cached):.2f}" if cached else "-",
                f"{_percentile(latencies, 0.5):.2f}",
                f"{_percentile(latencies, 0.99):.2f}",
            ]
        )
    return rows


def thaw_table(all_totals: Sequence[Totals]) -> str:
    return _table(
        [
            "function",
            "tiers",
            "thaws",
            "long freezes",
            "dead found",
            "reconnected",
            "errors",
            "slowest first ms",
            "p50 ms",
            "p99 ms",
        ],
        thaw_rows(all_totals),
    )


def report(all_totals: Sequence[Totals], tiers_used: list[str]) -> str:
    """The two tables and their legends."""
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
            "tiers",
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
        text_columns=3,
    )
    return "\n".join(
        [
            "",
            "Per function and tier stack. hit rate: requests that never reached the slow database;",
            "latency: the handler's time per request (the cold start's import and warming are not",
            "included); connections: sockets opened, the cold starts' included.",
            "",
            summary,
            "",
            "Per tier of each stack. lookups and hit rate as serverless_cache.metrics counts",
            "them, one per key read, and a request reads several: Django's cache_page reads the",
            "header key then the page, Flask's memoize its version key then the value, and",
            "Django's get_or_set reads again after storing a miss. So a tier's hit rate is not",
            "the requests' above. In a layered stack a miss in the execution-context tier is a",
            "lookup in the shared tier below it. Latency per store round trip ('-' for the",
            "in-process tier, which is not timed).",
            "",
            per_tier,
            "",
            "Freeze and thaw. thaws: invocations that found the environment frozen since the one",
            "before (SIGSTOP while the runtime client waited for it); long freezes: those past",
            "the servers' idle timeout; dead found: sockets the server had closed meanwhile,",
            "seen at the thaw; reconnected: sockets the first request after a long freeze",
            "opened; errors: cache errors in those requests; slowest first ms: the slowest of",
            "them served from the cache (no database query), to compare with p50 and p99 of",
            "all requests. A request that failed would have stopped the demo.",
            "",
            thaw_table(all_totals),
            "",
            f"Tiers used: {', '.join(TIER_LABELS.get(t, t) for t in tiers_used)}."
            f" Cold starts took {cold / max(starts, 1):.0f} ms on average to import a handler"
            " and warm its tiers.",
        ]
    )
