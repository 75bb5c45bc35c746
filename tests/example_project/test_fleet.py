"""The demo in short mode, as CI runs it: it finishes, prints the tables, and says nothing else.

stderr carries the progress bar only: a warning there would read like a failure to a new user.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

from example_project import fleet
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB

PROGRESS_LINE = re.compile(r"^\[\s*\d+%\] \d+/\d+ \w+ / [\w+]+$")


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
        [sys.executable, "-m", "example_project.fleet", "--short"],
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
        [sys.executable, "-m", "example_project.fleet", "--short"],
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
        [sys.executable, "-m", "example_project.fleet", "--short"],
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
