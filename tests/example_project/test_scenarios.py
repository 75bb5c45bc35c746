"""The fault scenarios: how stale reads and errors are counted, and the short run CI makes."""

from __future__ import annotations

import re
import subprocess
import sys

from example_project import scenarios
from example_project.scenario_report import Event, Run


def run(*events: Event) -> Run:
    result = Run("outage", "redis", start=0.0, fault_from=10.0, fault_to=20.0)
    result.events.extend(events)
    return result


def test_a_read_older_than_an_acknowledged_version_is_stale_by_its_age() -> None:
    measured = run(
        Event("write", 1, 2, sent=20.0, done=21.0),
        Event("write", 1, 3, sent=21.5, done=22.0),
        Event("read", 1, 1, sent=25.0, done=25.1),  # older than 2 (acked at 21): 4 s stale
        Event("read", 1, 2, sent=25.0, done=25.1),  # older than 3 (acked at 22): 3 s stale
        Event("read", 1, 3, sent=25.0, done=25.1),  # the newest: fresh
        Event("read", 1, 1, sent=20.5, done=20.6),  # version 2 not yet acknowledged: fresh
    )
    assert measured.stale_ages(since=20.0) == [4.0, 3.0]
    assert measured.stale_ages(since=30.0) == []


def test_errors_of_known_products_are_those_a_fallback_could_answer() -> None:
    measured = run(
        Event("error", 1, -1, sent=1.0, done=1.1, error="DatabaseError"),  # never seen
        Event("read", 2, 1, sent=2.0, done=2.1),
        Event("error", 2, -1, sent=3.0, done=3.1, error="DatabaseError"),
    )
    assert measured.errors_with_a_known_value() == 1


def test_short_scenarios_print_their_tables_quietly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "example_project.scenarios", "--short"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    intro, report = result.stdout.split("\n", 1)
    assert intro.startswith("Fault scenarios: 2 environments per stack")
    tables = report.split("\n\n")
    titles = [table.splitlines()[0].split(":")[0] for table in tables[:3]]
    assert titles == ["Baseline (no fault)", "Outage", "Failing database"]
    _, headers, _, *rows = tables[2].splitlines()
    columns = re.split(r"\s{2,}", headers.strip())
    cells = {row[0]: dict(zip(columns, row, strict=True)) for row in map(split_row, rows)}
    assert set(cells) == set(scenarios.stacks("redis://unused"))
    for stack in ("redis + fail-safe", "layered + fail-safe"):
        assert cells[stack]["of known"] == "0", cells[stack]  # a fallback answered every one


def split_row(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())
