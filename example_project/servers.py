"""Private redis-server and memcached processes for the demo and the benchmarks: free ports, no
persistence, the pid, and pause()/resume() (SIGSTOP/SIGCONT) for outage scenarios.

They live in the example project, not the tests: the demo and the benchmarks run without pytest
and from an installed package, where ``tests`` is not importable.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Server:
    """A server process this module started: its port and pid, and a way to freeze it."""

    port: int
    pid: int

    def pause(self) -> None:
        """Stop the server (SIGSTOP): connections stay open, nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Continue a paused server (SIGCONT)."""
        os.kill(self.pid, signal.SIGCONT)


class Redis(Server):
    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Memcached(Server):
    @property
    def url(self) -> str:
        return f"memcached://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available(name: str) -> bool:
    """Whether the server binary ``name`` (redis-server, memcached) is on PATH."""
    return shutil.which(name) is not None


def _binary(name: str, debian_package: str) -> str:
    binary = shutil.which(name)
    if binary is None:
        raise SystemExit(f"{name} is not on PATH (Debian: apt-get install {debian_package})")
    return binary


@contextmanager
def running(command: list[str], port: int, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` for the block, once it accepts connections on ``port``; killed after."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start on port {port}") from None
                time.sleep(0.02)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server cannot die on SIGKILL's heels
        process.kill()
        process.wait(timeout=10)


@contextmanager
def redis_server(extra_args: Sequence[str] = ()) -> Iterator[Redis]:
    """Run a redis-server (from PATH) on 127.0.0.1 for the block; ``extra_args`` are passed
    on (``["--timeout", "2"]`` closes connections idle for two seconds)."""
    binary = _binary("redis-server", "redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="demo-redis-") as directory:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", directory, *extra_args]
        with running(command, port, "redis-server") as process:
            yield Redis(port, process.pid)


@contextmanager
def memcached_server(extra_args: Sequence[str] = ()) -> Iterator[Memcached]:
    """Run a memcached (from PATH) on 127.0.0.1 for the block."""
    binary = _binary("memcached", "memcached")
    port = free_port()
    command = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", *extra_args]
    if os.geteuid() == 0:
        command += ["-u", "root"]
    with running(command, port, "memcached") as process:
        yield Memcached(port, process.pid)


def start_missing(environ: dict[str, str], idle_timeout_s: int, stack: ExitStack) -> list[str]:
    """The demo's own redis-server and memcached (closing connections idle for
    ``idle_timeout_s``) for each of REDIS_URL and MEMCACHED_URL not in ``environ``, when the
    binary is on PATH; their URLs are set in ``environ``, their lifetime is ``stack``'s."""
    started = []
    idle = str(idle_timeout_s)
    if not environ.get("REDIS_URL") and available("redis-server"):
        environ["REDIS_URL"] = stack.enter_context(redis_server(["--timeout", idle])).url
        started.append("redis-server")
    if not environ.get("MEMCACHED_URL") and available("memcached"):
        memcached = memcached_server(["-o", f"idle_timeout={idle}"])
        environ["MEMCACHED_URL"] = stack.enter_context(memcached).url
        started.append("memcached")
    return started


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
