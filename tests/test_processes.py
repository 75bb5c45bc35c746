"""The freeze fixture: it returns once every thread is stopped, and fails at once, not after
its timeout, for a server that has already exited."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fixtures.processes import freeze, thaw, thread_states

#: A process with a second thread, which says so once that thread runs.
SLEEPER = [
    sys.executable,
    "-c",
    "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); "
    "print('started', flush=True); time.sleep(60)",
]


def test_freeze_returns_with_every_thread_stopped() -> None:
    with subprocess.Popen(SLEEPER, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stdout.readline() == "started\n"
            assert len(thread_states(process.pid)) == 2
            freeze(process.pid)
            assert thread_states(process.pid) == ["T", "T"]
            thaw(process.pid)
        finally:
            process.kill()


def test_freezing_an_exited_server_fails_at_once() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    try:
        with pytest.raises(RuntimeError, match="exited"):
            freeze(process.pid)
    finally:
        process.wait()
