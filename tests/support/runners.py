"""Runner processes a test started (through Start-MigrationBatch's launcher) on a state
directory: found by their command line, stopped at teardown so none outlives its test.

A launched runner exits by itself once idle, but not while a pass waits for a retry: a test
whose source is unreachable on purpose (port 9) would leave one retrying for the rest of the
day, on pytest's kept temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

STOP_WAIT = 10.0  # seconds a runner gets to stop at a safe point after SIGTERM


def runner_pids(state: Path) -> list[int]:
    """Live processes serving ``state`` (``... --state DIR service``)."""
    needle = f"--state\0{state}\0service"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if needle in cmdline and stat[stat.rfind(")") + 2] not in "ZX":
            found.append(int(entry.name))
    return found


def stop_runners(state: Path) -> int:
    """SIGTERM every runner serving ``state``, SIGKILL what is left after :data:`STOP_WAIT`;
    how many there were."""
    pids = runner_pids(state)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    while runner_pids(state) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in runner_pids(state):
        _signal(pid, signal.SIGKILL)
    return len(pids)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
