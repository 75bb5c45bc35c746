"""The HTML report renders: a well-formed page with one chart per view, a line per stack, a
bar per stack, and the cost table, from outcomes shaped as the fleet records them."""

from __future__ import annotations

from html.parser import HTMLParser

from example_project import costs, html_report
from example_project.fleet_report import Outcome, Totals


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))
        if tag not in ("meta", "line", "polyline", "rect"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("line", "polyline", "rect"):
            return
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()


def outcome(db_queries: int, latency_ms: float, tiers: dict[str, dict[str, int]]) -> Outcome:
    return Outcome(0, False, False, 200, latency_ms, 0.0, db_queries, {}, tiers)


def totals(stack: list[str], misses: int) -> Totals:
    result = Totals("django", stack)
    for n in range(100):
        hit = n >= misses
        counts = {"hits": int(hit), "misses": int(not hit), "sets": int(not hit)}
        result.outcomes.append(
            outcome(0 if hit else 1, 2.0 if hit else 25.0, {tier: counts for tier in stack})
        )
    return result


def test_the_report_renders_every_chart() -> None:
    runs = [totals(["memory"], 40), totals(["memory", "redis"], 20)]
    page = html_report.render(runs, costs.load_prices())
    parser = Elements()
    parser.feed(page)
    parser.close()
    assert parser.open == []  # every element closed
    tags = [tag for tag, _ in parser.seen]
    assert tags.count("svg") == 3 + len(costs.LEVELS)
    assert tags.count("polyline") == 2 * 2  # hit rate and latency, one line per stack
    assert tags.count("rect") == 2 * (1 + len(costs.LEVELS))  # queries and costs, per stack
    first_line = next(a for tag, a in parser.seen if tag == "polyline")
    points = (first_line["points"] or "").split()
    assert len(points) == 100  # one point per request
    assert "What it costs" in page and "memory+redis" in page


def test_hit_rate_series_follows_the_misses() -> None:
    run = totals(["memory"], 40)
    series = html_report.hit_rate_series(run, window=10)
    assert series[0] == 0.0 and series[-1] == 100.0
    assert series[44] == 50.0  # five misses and five hits in the window ending at request 44
