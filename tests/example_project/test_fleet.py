"""The demo in short mode, as CI runs it: it finishes, prints the tables, and says nothing else.

stderr carries the progress bar only: a warning there would read like a failure to a new user.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from example_project import costs, fleet
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB

PROGRESS_LINE = re.compile(r"^\[\s*\d+%\] \d+/\d+ [\w-]+ / [\w+]+$")


def assert_only_progress(stderr: str) -> None:
    lines = stderr.splitlines()
    assert lines, "no progress bar"
    assert [line for line in lines if not PROGRESS_LINE.match(line)] == [], stderr


def test_short_demo_prints_the_tables() -> None:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "MEMCACHED_URL", "DYNAMODB_ENDPOINT_URL")
    }
    result = subprocess.run(
        [sys.executable, "-m", "example_project.fleet", "--short", "--no-servers"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tiers used: execution context." in out
    header = re.search(
        r"^function\s+tiers\s+requests\s+warm-ups\s+cold starts\s+hit rate"
        r"\s+p50 ms\s+p95 ms\s+db queries\s+connections$",
        out,
        re.M,
    )
    assert header
    for function in ("django", "flask"):
        row = re.search(rf"^{function}\s+memory\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)%", out, re.M)
        assert row, out
        requests, warmups, cold_starts, hit_rate = row.groups()
        assert int(requests) + int(warmups) == fleet.SHORT.requests
        assert int(cold_starts) == fleet.SHORT.environments
        assert 0 < float(hit_rate) < 100
        assert re.search(rf"^{function}\s+memory\s+execution context\s+\d+\s+[\d.]+%", out, re.M)
    assert "100%" in result.stderr  # the progress bar reached the end
    assert_only_progress(result.stderr)
    assert "So a tier's hit rate is not" in out  # cache_page's two lookups...
    assert out.count("restored environments: distinct") == 2
    assert "A shared tier pays for itself" in out


def test_traffic_is_skewed_and_scales_out() -> None:
    jobs = fleet.traffic(fleet.SHORT)
    assert len(jobs) == fleet.SHORT.environments
    assert sum(len(j) for j in jobs) == fleet.SHORT.requests
    assert all(jobs), "every environment gets traffic"
    paths = [job.event.get("path") or job.event.get("rawPath") for j in jobs for job in j]
    top = sum(1 for p in paths if p and p.endswith("/1"))
    assert top > fleet.SHORT.requests / fleet.SHORT.products * 5  # product 1 is the hot key
    assert any(job.warmup for j in jobs for job in j)
    # Mangum and apig-wsgi functions never receive Zappa's keep-warm; the demo sends none.
    assert not any(job.kind == "zappa-keep-warm" for j in jobs for job in j)


def test_short_demo_with_the_shared_tiers(redis_url: str, dynalite_dynamodb: LocalDynamoDB) -> None:
    environ = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DYNAMODB_ENDPOINT_URL": dynalite_dynamodb.endpoint_url,
        "DYNAMODB_TABLE": f"fleet-{uuid.uuid4().hex[:8]}",
        "AWS_REGION": REGION,
    }
    result = subprocess.run(
        [sys.executable, "-m", "example_project.fleet", "--short", "--no-servers"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environ,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tiers used: execution context, Redis, DynamoDB." in out
    for function in ("django", "flask"):
        for stack in ("memory+redis", "memory+dynamodb", "memory+redis+dynamodb"):
            assert re.search(rf"^{function}\s+{re.escape(stack)}\s+\d+", out, re.M), out
        for tier in ("Redis", "DynamoDB"):
            rows = re.findall(rf"^{function}\s+[\w+]+\s+{tier}\s+(\d+)\s+.*\s(\d+)$", out, re.M)
            assert rows, out
            for lookups, connections in rows:
                assert int(lookups) > 0
                # one connection per execution environment: the client lives in the registry
                assert int(connections) == fleet.SHORT.environments
    assert_only_progress(result.stderr)


def test_short_demo_with_memcached(memcached_url: str) -> None:
    environ = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DYNAMODB_ENDPOINT_URL")},
        "MEMCACHED_URL": memcached_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "example_project.fleet", "--short", "--no-servers"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environ,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_only_progress(result.stderr)
    out = result.stdout
    assert "Tiers used: execution context, Memcached." in out
    for function in ("django", "flask"):
        assert re.search(rf"^{function}\s+memory\+memcached\s+\d+", out, re.M), out
        rows = re.findall(rf"^{function}\s+[\w+]+\s+Memcached\s+(\d+)\s+.*\s(\d+)$", out, re.M)
        assert rows, out
        for lookups, connections in rows:
            assert int(lookups) > 0
            assert int(connections) == fleet.SHORT.environments


THAW_ROW = re.compile(
    r"^(django|flask)\s+([\w+]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+|-)"
    r"\s+([\d.]+)\s+([\d.]+)$",
    re.M,
)


@pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("memcached")),
    reason="the demo starts its own servers from PATH (CI apt-installs both)",
)
def test_short_demo_on_its_own_servers_survives_thaws_and_restores(tmp_path: Path) -> None:
    """What `make demo-short` shows on a machine with redis-server and memcached: connections
    the servers closed while environments were frozen are found and replaced with no error,
    SnapStart copies are distinct, and the cost table has the three traffic levels."""
    page = tmp_path / "report.html"
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "MEMCACHED_URL", "DYNAMODB_ENDPOINT_URL")
    }
    result = subprocess.run(
        [sys.executable, "-m", "example_project.fleet", "--short", "--html", str(page)],
        capture_output=True,
        text=True,
        timeout=180,
        env=environ,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_only_progress(result.stderr)
    out = result.stdout
    assert "Started redis-server and memcached for the demo" in out
    assert "Tiers used: execution context, Redis, Memcached." in out
    rows = {(m[0], m[1]): m[2:] for m in THAW_ROW.findall(out)}
    stacks = ("memory", "memory+redis", "memory+memcached", "memory+redis+memcached")
    assert set(rows) == {(f, s) for f in ("django", "flask") for s in stacks}, out
    per_environment = fleet.SHORT.requests // fleet.SHORT.environments
    for (_, stack), (thaws, long, dead, reconnected, errors, *_) in rows.items():
        assert int(thaws) > fleet.SHORT.environments * (per_environment // 2)  # frozen between
        assert int(errors) == 0
        assert int(reconnected) <= int(dead)  # a socket opened after a thaw replaced a dead one
        if stack == "memory":
            assert (long, dead) == ("0", "0")
        else:
            assert int(long) == fleet.SHORT.environments * fleet.SHORT.long_freezes
    # the servers' idle timeout closed the frozen Redis connections, and they were replaced
    for function in ("django", "flask"):
        thaws, long, dead, reconnected, *_ = rows[(function, "memory+redis")]
        assert int(dead) == int(long) == int(reconnected)
    assert out.count("restored environments: distinct") == 2, out
    assert "NOT distinct" not in out
    for _, label, _ in costs.LEVELS:
        assert re.search(rf"^\w+ \({re.escape(label)}\)\s+memory\+redis\s+[\d.]+", out, re.M)
    assert out.count("<- favoured") == len(costs.LEVELS)
    assert page.read_text().count("<svg") == 3 + len(costs.LEVELS)  # --html: the charts
    for function in ("zappa-django", "zappa-flask"):  # through zappa.handler.lambda_handler
        row = re.search(
            rf"^{function}\s+memory\+redis\+memcached\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M
        )
        assert row, out
        requests, warmups, cold_starts = map(int, row.groups())
        assert requests + warmups == fleet.SHORT.requests // 4
        assert cold_starts == fleet.SHORT.environments
    # django under uvicorn behind the adapter: every request answered, frozen between bursts
    adapter = re.search(
        r"^django \(uvicorn\)\s+memory\+redis\s+(\d+) x 2\s+4\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
        out,
        re.M,
    )
    assert adapter, out
    environments, requests, failed, thaws, long = map(int, adapter.groups())
    assert (environments, requests, failed) == (fleet.SHORT.environments, 75, 0)
    assert thaws > 0 and long == fleet.SHORT.environments * fleet.SHORT.long_freezes
