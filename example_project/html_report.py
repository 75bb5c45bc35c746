"""The demo's results as one small HTML page with charts (``--html PATH``): hit rate over time
per stack, the latency distribution, database queries and the cost per stack. Plain inline SVG,
no script and nothing fetched: the file opens anywhere.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from example_project import costs
from example_project.fleet_report import Totals

WIDTH, HEIGHT, MARGIN = 640, 260, 48
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _label(totals: Totals) -> str:
    return f"{totals.function} / {'+'.join(totals.stack)}"


def _frame(title: str, y_label: str, body: list[str], legend: Sequence[str]) -> str:
    items = [
        f'<text x="{WIDTH - MARGIN + 8}" y="{MARGIN + 14 * n}" font-size="10" '
        f'fill="{COLOURS[n % len(COLOURS)]}">{html.escape(name)}</text>'
        for n, name in enumerate(legend)
    ]
    return "\n".join(
        [
            f"<figure><figcaption>{html.escape(title)}</figcaption>",
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 200}" height="{HEIGHT}"'
            f' role="img" aria-label="{html.escape(title)}">',
            f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
            f'y2="{HEIGHT - MARGIN}" stroke="#333"/>',
            f'<line x1="{MARGIN}" y1="{MARGIN / 2}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" '
            'stroke="#333"/>',
            f'<text x="4" y="{MARGIN / 2 - 6}" font-size="10">{html.escape(y_label)}</text>',
            *body,
            *items,
            "</svg></figure>",
        ]
    )


def _scale(value: float, top: float) -> float:
    span = HEIGHT - MARGIN - MARGIN / 2
    return HEIGHT - MARGIN - (value / top if top else 0.0) * span


def line_chart(title: str, y_label: str, series: dict[str, list[float]], top: float) -> str:
    """One polyline per series over its own length (x: share of the run)."""
    body = []
    for n, values in enumerate(series.values()):
        if not values:
            continue
        step = (WIDTH - 2 * MARGIN) / max(1, len(values) - 1)
        points = " ".join(
            f"{MARGIN + i * step:.1f},{_scale(v, top):.1f}" for i, v in enumerate(values)
        )
        colour = COLOURS[n % len(COLOURS)]
        body.append(f'<polyline fill="none" stroke="{colour}" points="{points}"/>')
    body.append(f'<text x="{MARGIN - 30}" y="{MARGIN / 2 + 4}" font-size="10">{top:g}</text>')
    return _frame(title, y_label, body, list(series))


def bar_chart(title: str, y_label: str, values: dict[str, float]) -> str:
    top = max(values.values(), default=0.0) or 1.0
    width = (WIDTH - 2 * MARGIN) / max(1, len(values))
    body = []
    for n, value in enumerate(values.values()):
        y = _scale(value, top)
        body.append(
            f'<rect x="{MARGIN + n * width + 4:.1f}" y="{y:.1f}" width="{width - 8:.1f}" '
            f'height="{HEIGHT - MARGIN - y:.1f}" fill="{COLOURS[n % len(COLOURS)]}">'
            f"<title>{value:,.2f}</title></rect>"
        )
        x = MARGIN + n * width + 6
        body.append(f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="9">{value:,.2f}</text>')
    return _frame(title, y_label, body, list(values))


def hit_rate_series(totals: Totals, window: int = 50) -> list[float]:
    """The share of requests spared the database, over a moving window, in arrival order."""
    spared = [1.0 if o.db_queries == 0 else 0.0 for o in totals.requests]
    return [
        100 * sum(spared[max(0, i - window + 1) : i + 1]) / min(i + 1, window)
        for i in range(len(spared))
    ]


def latency_cdf(totals: Totals, points: int = 50) -> list[float]:
    """Latency (log10 ms) at ``points`` evenly spaced percentiles."""
    ordered = sorted(o.latency_ms for o in totals.requests)
    if not ordered:
        return []
    return [
        math.log10(max(ordered[min(len(ordered) - 1, int(p / points * len(ordered)))], 0.01)) + 2
        for p in range(points + 1)
    ]


def render(all_totals: Sequence[Totals], prices: dict[str, Any]) -> str:
    """The whole page."""
    charts = [
        line_chart(
            "Hit rate over the run (requests spared the database, moving window of 50)",
            "%",
            {_label(t): hit_rate_series(t) for t in all_totals},
            100.0,
        ),
        line_chart(
            "Latency distribution (x: percentile 0 to 100; y: log10 ms + 2, so 2 = 1 ms, 3 = 10"
            " ms)",
            "log ms",
            {_label(t): latency_cdf(t) for t in all_totals},
            4.0,
        ),
        bar_chart(
            "Database queries per stack",
            "queries",
            {_label(t): float(sum(o.db_queries for o in t.outcomes)) for t in all_totals},
        ),
    ]
    usage = costs.usage(all_totals)
    for level, label, rpm in costs.LEVELS:
        values = {
            "+".join(item.stack): sum(
                costs.cost_per_million(item, level, rpm, prices["prices"]).values()
            )
            for item in usage
        }
        charts.append(bar_chart(f"Cost per million requests, {level} ({label})", "$", values))
    table = html.escape(costs.cost_table(all_totals, prices))
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>serverless-cache demo</title>",
            "<style>body{font-family:sans-serif;max-width:900px;margin:auto}"
            "figure{margin:1.5em 0}figcaption{font-weight:bold}pre{font-size:11px}</style>",
            "</head><body>",
            "<h1>serverless-cache demo</h1>",
            *charts,
            f"<h2>What it costs</h2><pre>{table}</pre>",
            "</body></html>",
        ]
    )
