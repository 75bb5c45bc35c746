"""Private redis-server and memcached processes for the benchmarks: free ports, no persistence.

The benchmarks keep their own helper rather than the test fixtures: they run without pytest and
from an installed package, where ``tests`` is not importable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Redis:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Run a redis-server (from PATH) on 127.0.0.1 for the duration of the block."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("the Redis benchmarks need redis-server on PATH (Debian: redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", directory]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.02)
            yield Redis(port)
        finally:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Memcached:
    port: int

    @property
    def url(self) -> str:
        return f"memcached://127.0.0.1:{self.port}"


@contextmanager
def memcached_server() -> Iterator[Memcached]:
    """Run a memcached (from PATH) on 127.0.0.1 for the duration of the block."""
    binary = shutil.which("memcached")
    if binary is None:
        raise SystemExit("the Memcached benchmarks need memcached on PATH (Debian: memcached)")
    port = _free_port()
    command = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        command += ["-u", "root"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"memcached did not start on port {port}") from None
                time.sleep(0.02)
        yield Memcached(port)
    finally:
        process.kill()
        process.wait(timeout=10)


class RequestCounter:
    """A relay in front of ``port`` that counts request bursts (one per round trip, as long as
    a request fits in one read: batches of a few kilobytes do)."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for source, sink, count in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, count), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    break
                if count:
                    self.requests += 1
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            sock.close()

    def close(self) -> None:
        self._listener.close()
