"""The Lambda Web Adapter middlewares under the real servers the adapter runs: the example
Django project under uvicorn (ASGI), the example Flask app under gunicorn (WSGI).

Each server runs as the adapter starts it, with the adapter's variables; the metrics flush at
the end of each request is seen from outside as its CloudWatch EMF line on stdout.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from example_project.servers import free_port

SERVERS = {
    "uvicorn": ["-m", "uvicorn", "example_project.django_app.web_adapter:application"],
    "gunicorn": ["-m", "gunicorn", "example_project.flask_app.web_adapter:application"],
}


@contextmanager
def serving(server: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    bind = ["--port", str(port)] if server == "uvicorn" else ["--bind", f"127.0.0.1:{port}"]
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
        "AWS_LWA_READINESS_CHECK_PATH": "/_ready",
        "SERVERLESS_CACHE_EMF": "1",
        "EXAMPLE_DB_DELAY": "0",
    }
    process = subprocess.Popen(
        [sys.executable, *SERVERS[server], *bind],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # what the adapter does before its first request
            try:
                if request(port, "GET", "/_ready")[0] == 200:
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def request(port: int, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, payload, {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def emf_lines(output: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_the_adapters_requests_through_the_middleware(server: str) -> None:
    with serving(server) as (port, process):
        assert request(port, "GET", "/_ready") == (200, b'{"ready": true}')
        for _ in range(2):
            status, body = request(port, "GET", "/products/3")
            assert status == 200 and json.loads(body)["name"] == "Product 3"
        # a warm-up the adapter passes through: answered here, the tiers warmed
        status, body = request(port, "POST", "/events", {"warmup": True})
        assert status == 200
        assert json.loads(body) == {"warmup": True, "cold_start": False, "tiers": ["memory"]}
        # any other event reaches the app (which has no route for it)
        assert request(port, "POST", "/events", {"source": "aws.s3"})[0] == 404
    assert process.stdout is not None
    flushed = emf_lines(process.stdout.read())
    # one flush per request that reached the app or the warm-up; none for readiness checks
    assert len(flushed) == 4, flushed
