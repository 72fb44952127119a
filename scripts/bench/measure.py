"""Measure one tool run: wall time, CPU of the whole process tree, peak memory.

The command runs under :mod:`scripts.bench.treetime` (which reaps detached descendants such as
imsh's runner, so their CPU is counted); meanwhile this process samples ``/proc`` every
``SAMPLE_SECONDS`` for the summed resident set of the whole tree. Should the benchmark be
interrupted, every process of the tree seen so far is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SECONDS = 0.05
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """What one run of a tool cost."""

    wall: float  # seconds until the command itself exited
    cpu: float  # user + system seconds of every process of its tree
    peak_rss_mb: float  # the largest resident set of any one process (ru_maxrss)
    tree_rss_mb: float  # the largest sampled sum of the resident sets of the whole tree
    status: int


class ToolFailed(RuntimeError):
    """The tool exited with a non-zero status."""


def measure(command: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path) -> Measurement:
    """Run ``command`` in ``cwd``; its output is appended to ``log``."""
    with tempfile.NamedTemporaryFile(suffix=".json", dir="/tmp", delete=False) as result:
        result_path = Path(result.name)
    wrapper = [sys.executable, "-m", "scripts.bench.treetime", str(result_path), "--",
               *command]
    child_env = {**env, "PYTHONPATH": _with_root(env.get("PYTHONPATH", ""))}
    seen: set[int] = set()
    try:
        with log.open("ab") as output:
            process = subprocess.Popen(wrapper, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                                       stdout=output, stderr=output)
        seen.add(process.pid)
        tree_peak = _sample_until_exit(process, seen)
        figures = json.loads(result_path.read_text(encoding="utf-8"))
    except BaseException:
        _kill(seen)
        raise
    finally:
        result_path.unlink(missing_ok=True)
    if figures["status"] != 0:
        raise ToolFailed(f"{command[0]} exited with status {figures['status']} (see {log})")
    return Measurement(wall=figures["wall"], cpu=figures["user"] + figures["sys"],
                       peak_rss_mb=figures["maxrss_kb"] / 1024, tree_rss_mb=tree_peak / MB,
                       status=figures["status"])


def _with_root(pythonpath: str) -> str:
    return os.pathsep.join([str(ROOT), *[p for p in pythonpath.split(os.pathsep) if p]])


def _sample_until_exit(process: subprocess.Popen[bytes], seen: set[int]) -> int:
    """Sample the tree below ``process`` (the wrapper itself excluded) until it exits."""
    peak = 0
    while process.poll() is None:
        descendants = _descendants(process.pid)
        seen.update(descendants)
        peak = max(peak, sum(_rss_bytes(pid) for pid in descendants))
        time.sleep(SAMPLE_SECONDS)
    return peak


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _rss_bytes(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[21]) * PAGE_BYTES if fields else 0


def _kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):  # already gone
            os.kill(pid, signal.SIGKILL)
