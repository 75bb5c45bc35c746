"""What the fault scenarios measured: errors, database calls and stale reads, per stack."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from example_project.fleet_report import _table


@dataclass(frozen=True)
class Event:
    """One request: a read (the version it answered), a write (the version it stored) or an
    error a user would see."""

    kind: str
    product: int
    version: int
    sent: float
    done: float
    error: str = ""
    environment: int = 0
    #: A read answered without calling the database.
    cached: bool = False


@dataclass
class Run:
    """Everything one stack's environments did in one scenario."""

    scenario: str
    stack: str
    start: float
    fault_from: float
    fault_to: float
    events: list[Event] = field(default_factory=list)
    db_calls: list[float] = field(default_factory=list)

    def db_calls_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.db_calls if start <= at < end)

    def back_after(self) -> float | None:
        """Seconds after the fault until every environment answered a read from the cache
        again (None if one never did)."""
        first: dict[int, float] = {}
        environments = {event.environment for event in self.events}
        for event in sorted(self.events, key=lambda e: e.sent):
            if event.cached and event.sent >= self.fault_to:
                first.setdefault(event.environment, event.sent)
        if set(first) != environments:
            return None
        return max(first.values()) - self.fault_to

    def errors_with_a_known_value(self) -> int:
        """Errors on products that a request had answered or written before (a fallback
        value could exist), as opposed to products never seen."""
        known: set[int] = set()
        errors = 0
        for event in sorted(self.events, key=lambda e: e.sent):
            if event.kind == "error":
                errors += event.product in known
            else:
                known.add(event.product)
        return errors

    def stale_ages(self, since: float) -> list[float]:
        """For each read sent at ``since`` or later that answered an older version than one
        acknowledged before it was sent: how long before."""
        newer_acks: dict[int, tuple[list[int], list[float]]] = {}
        by_product: dict[int, list[tuple[int, float]]] = {}
        for event in self.events:
            if event.kind == "write":
                by_product.setdefault(event.product, []).append((event.version, event.done))
        for product, writes in by_product.items():
            writes.sort()
            versions = [version for version, _ in writes]
            earliest = [done for _, done in writes]
            for index in range(len(earliest) - 2, -1, -1):  # earliest ack of this version or later
                earliest[index] = min(earliest[index], earliest[index + 1])
            newer_acks[product] = (versions, earliest)
        ages = []
        for event in self.events:
            if event.kind != "read" or event.sent < since or event.product not in newer_acks:
                continue
            versions, earliest = newer_acks[event.product]
            index = bisect.bisect_right(versions, event.version)  # first newer version
            if index < len(versions) and earliest[index] < event.sent:
                ages.append(event.sent - earliest[index])
        return ages


def report(runs: Sequence[Run], caps: Mapping[str, float]) -> str:
    """One table per scenario; database calls after the fault are compared with the baseline."""
    baseline = {run.stack: run for run in runs if run.scenario == "baseline"}
    blocks = []
    for scenario in dict.fromkeys(run.scenario for run in runs):
        rows = []
        for run in (r for r in runs if r.scenario == scenario):
            end = max((e.done for e in run.events), default=run.fault_to)
            after = run.db_calls_between(run.fault_to, end)
            reference = baseline.get(run.stack)
            ratio = "-"
            if reference is not None and scenario == "outage":
                expected = reference.db_calls_between(reference.fault_to, end)
                ratio = f"{after / expected:.2f}x" if expected else "-"
            ages = run.stale_ages(run.fault_to)
            back = run.back_after() if scenario == "outage" else None
            bound = caps.get(run.stack, 0.0)
            rows.append(
                [
                    run.stack,
                    str(len(run.events)),
                    str(sum(1 for e in run.events if e.kind == "error")),
                    str(run.errors_with_a_known_value()),
                    str(run.db_calls_between(run.fault_from, run.fault_to)),
                    str(after),
                    ratio,
                    "-" if back is None else f"{back:.2f}",
                    str(len(ages)),
                    f"{sum(1 for age in ages if age > bound)} (> {bound:g} s)",
                    f"{max(ages, default=0.0):.2f}",
                ]
            )
        headers = [
            "stack",
            "requests",
            "errors",
            "of known",
            "db during",
            "db after",
            "vs baseline",
            "back after s",
            "stale after",
            "beyond bound",
            "max age s",
        ]
        title = {
            "baseline": "Baseline (no fault)",
            "outage": "Outage: each stack's redis-server frozen (SIGSTOP), then continued",
            "failing-db": "Failing database: a share of its calls raise during the fault",
        }[scenario]
        blocks.append(f"{title}\n{_table(headers, rows, text_columns=1)}")
    notes = (
        "of known: errors on products answered or written before (a fallback could exist).\n"
        "db during/after: database calls while the fault lasted and after it; vs baseline: "
        "calls after\nthe fault against the same window of the baseline run; back after: seconds "
        "until every\nenvironment answered from the cache again. stale after: "
        "reads sent after the fault\nthat answered a version older than one acknowledged "
        "before they were sent; beyond bound: those\nolder than the stack's bound "
        "(a layered L1's CAP, else 0); max age: the oldest, in seconds."
    )
    return "\n\n".join([*blocks, notes])
