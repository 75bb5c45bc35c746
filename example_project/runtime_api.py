"""The Lambda Runtime API, served on loopback, so that the demo's environments run the real
runtime interface client (``awslambdaric``) as Lambda runs it.

The endpoints and headers are the documented ones
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): ``GET
/2018-06-01/runtime/invocation/next`` blocks until there is an invocation and answers with the
event and the ``Lambda-Runtime-Aws-Request-Id``, ``-Deadline-Ms``, ``-Invoked-Function-Arn``,
``-Trace-Id`` (and ``-Client-Context``) headers; ``POST .../invocation/{id}/response`` and
``/error``, ``POST /2018-06-01/runtime/init/error``; SnapStart's ``GET
/2018-06-01/runtime/restore/next`` and ``POST .../restore/error``.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Invocation:
    """One event on its way to the runtime client."""

    event: Any
    client_context: dict[str, Any] | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Result:
    """What the runtime client posted for an invocation (or for its init, ``request_id=""``)."""

    request_id: str
    ok: bool
    body: Any
    error_type: str = ""
    received: float = field(default_factory=time.monotonic)


class RuntimeApi:
    """One function's Runtime API on 127.0.0.1: invocations in, results out.

    ``polling`` is set while a runtime client waits in ``/invocation/next`` (when Lambda would
    freeze the environment), ``timeout_s`` gives each invocation its deadline.
    """

    def __init__(self, function_name: str, timeout_s: float = 30.0) -> None:
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.invocations: queue.Queue[Invocation | None] = queue.Queue()
        self.results: queue.Queue[Result] = queue.Queue()
        self.restores = 0
        self.polling = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_class(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        """``AWS_LAMBDA_RUNTIME_API`` for the runtime client."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def invoke(self, invocation: Invocation) -> None:
        self.invocations.put(invocation)

    def close(self) -> None:
        self.invocations.put(None)  # a runtime client still polling gets no invocation
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An environment ended mid-request (the fleet kills it when done) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_class(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = 1 << 16  # headers and body in one write, flushed after each request

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo's output is its tables."""

        def _reply(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == f"{PREFIX}/invocation/next":
                self._next()
            elif self.path == f"{PREFIX}/restore/next":
                api.restores += 1
                self._reply(200)
            else:
                self._reply(404)

        def _next(self) -> None:
            api.polling.set()
            invocation = api.invocations.get()
            api.polling.clear()
            if invocation is None:
                api.invocations.put(None)  # for any other client still polling
                self.close_connection = True
                self._reply(503)
                return
            deadline_ms = int((time.time() + api.timeout_s) * 1000)
            headers = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
                ";Parent=0000000000000001;Sampled=0",
            }
            if invocation.client_context is not None:
                headers["Lambda-Runtime-Client-Context"] = json.dumps(invocation.client_context)
            self._reply(200, json.dumps(invocation.event).encode(), headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
            parts = self.path.removeprefix(f"{PREFIX}/").split("/")
            if parts[0] == "invocation" and len(parts) == 3 and parts[2] in ("response", "error"):
                api.results.put(Result(parts[1], parts[2] == "response", body, error_type))
            elif parts in (["init", "error"], ["restore", "error"]):
                api.results.put(Result("", False, body, error_type or "/".join(parts)))
            else:
                self._reply(404)
                return
            self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

    return Handler
