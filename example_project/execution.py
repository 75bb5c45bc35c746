"""One execution environment of the demo, as Lambda runs it: a process running the real runtime
interface client (``python -m awslambdaric``) that polls its own Runtime API
(:mod:`example_project.runtime_api`), frozen (SIGSTOP) whenever it waits for the next
invocation and thawed (SIGCONT) when one arrives.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from example_project.runtime_api import Invocation, RuntimeApi

ENTRY_POINT = "example_project.environment.handler"
#: Seconds Lambda gives an invocation (the function's timeout) before it ends the environment.
TIMEOUT_S = 30.0
#: Where ``example_project`` is imported from: the repository, or an installed copy.
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)


class InvocationFailed(RuntimeError):
    """The runtime client reported an error (init or invocation), or the deadline passed."""


def runtime_environ(
    api: RuntimeApi, handler_module: str, environ: dict[str, str]
) -> dict[str, str]:
    """The variables Lambda sets in an environment, and the demo's own."""
    return {
        **environ,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": ENTRY_POINT,
        "AWS_LAMBDA_FUNCTION_NAME": api.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": environ.get("AWS_REGION", "us-east-1"),
        "FLEET_HANDLER": handler_module,
        "PYTHONPATH": os.pathsep.join(filter(None, [PROJECT_ROOT, environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }


class Environment:
    """An awslambdaric process and its Runtime API; ``invoke`` freezes it in between."""

    def __init__(
        self, function: str, handler_module: str, environ: dict[str, str], ports: dict[int, str]
    ) -> None:
        self.api = RuntimeApi(f"fleet-{function}", TIMEOUT_S)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by close())
        variables = runtime_environ(self.api, handler_module, environ)
        variables["FLEET_PORTS"] = json.dumps({str(port): tier for port, tier in ports.items()})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", ENTRY_POINT],
            env=variables,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.invocations = 0

    def freeze(self, seconds: float) -> None:
        """Once the runtime client waits for the next invocation, stop the process for
        ``seconds``, as Lambda freezes an idle environment, then continue it."""
        if not self.api.polling.wait(TIMEOUT_S):
            raise InvocationFailed(
                f"the runtime client never asked for an invocation{self._tail()}"
            )
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def invoke(self, event: Any, client_context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one event; return what ``example_project.environment.handler`` returned."""
        invocation = Invocation(event, client_context)
        self.api.invoke(invocation)
        return self.result(invocation.request_id)

    def result(self, request_id: str | None = None) -> dict[str, Any]:
        """The next result the runtime client posts (``request_id``'s, when given)."""
        sent = time.monotonic()
        deadline = sent + TIMEOUT_S
        while True:
            try:
                result = self.api.results.get(timeout=0.5)
                break
            except queue.Empty:
                if self.process.poll() is not None and self.api.results.empty():
                    raise InvocationFailed(
                        f"the environment exited with {self.process.returncode}{self._tail()}"
                    ) from None
                if time.monotonic() > deadline:
                    raise InvocationFailed(f"Task timed out after {TIMEOUT_S:.0f} s") from None
        if not result.ok:
            where = "init" if not result.request_id else "invocation"
            message = (
                result.body.get("errorMessage") if isinstance(result.body, dict) else result.body
            )
            raise InvocationFailed(f"{where} error {result.error_type}: {message}{self._tail()}")
        if result.received > deadline:
            raise InvocationFailed(f"Task timed out after {TIMEOUT_S:.0f} s")
        if request_id is not None and result.request_id != request_id:
            raise InvocationFailed(f"a response for {result.request_id}, expected {request_id}")
        self.invocations += 1
        return result.body  # type: ignore[no-any-return]

    def _tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()[-15:]
        return ("\n" + "\n".join(lines)) if lines else ""

    def close(self) -> None:
        """End the environment: its process group (a SnapStart snapshot and its copies)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGCONT)
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)
        self.api.close()
        self.log.close()
