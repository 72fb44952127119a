"""``imsh service`` as a real process: detached launch, idle exit, SIGTERM, SIGKILL takeover.

The syncer is swapped for a stand-in (tests/integration/service_syncers.py, through
``IMSH_SERVICE_SYNCER``) so these tests need no IMAP server; leases are shortened with
``IMSH_LEASE_TTL`` and the runner polls every 50 ms (``IMSH_POLL_INTERVAL``).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.model import BatchStatus, EndpointType
from engine.paths import StatePaths, resolve_state_paths
from engine.service import Engine
from engine.service.batches import BatchChanges, BatchRequest
from engine.service.endpoints import EndpointRequest
from engine.store import Store
from shell.launch import make_runner_launcher

ROOT = Path(__file__).resolve().parent.parent.parent
CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw1\r\n"
SYNCERS = "tests.integration.service_syncers"


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StatePaths:
    monkeypatch.setenv("IMSH_LEASE_TTL", "2")
    monkeypatch.setenv("IMSH_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("IMSH_TEST_SYNC_LOG", str(tmp_path / "syncs.txt"))
    monkeypatch.setenv("IMSH_SERVICE_SYNCER", f"{SYNCERS}:slow")
    monkeypatch.delenv("IMSH_KEY_FILE", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def engine(paths: StatePaths) -> Iterator[Engine]:
    with Engine.open(paths, runner_launcher=make_runner_launcher(str(paths.root))) as opened:
        opened.new_endpoint(
            EndpointRequest(
                name="Source",
                kind=EndpointType.IMAP,
                remote_server="127.0.0.1",
                port=9,
                skip_verification=True,
            )
        )
        opened.new_batch(BatchRequest(name="B1", source_endpoint="Source", csv_data=CSV))
        yield opened
    for pid in runner_processes(paths):  # a detached runner a failed test left behind
        os.kill(pid, signal.SIGTERM)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)


def runner_processes(paths: StatePaths) -> list[int]:
    """Pids whose command line is ``... --state DIR service --until-idle`` (as ps shows)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):
            continue
        text = " ".join(args)
        if f"--state {paths.root} service --until-idle" in text:
            found.append(int(entry.name))
    return found


def service(paths: StatePaths, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "shell.main", "--state", str(paths.root), "service", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def user_status(paths: StatePaths) -> str:
    with Store.open(paths) as store:
        return store.users.get("ann@contoso.com").status


def leases(paths: StatePaths) -> list[str]:
    with Store.open(paths) as store:
        return [lease.resource for lease in store.leases.active()]


def sync_starts(tmp_path: Path) -> list[tuple[int, float]]:
    log = tmp_path / "syncs.txt"
    lines = log.read_text().split("\n") if log.exists() else []
    return [(int(p), float(t)) for p, _, t in (line.split() for line in lines if line)]


def test_start_launches_a_detached_runner_that_exits_when_idle(
    engine: Engine, paths: StatePaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMSH_TEST_SYNC_SECONDS", "1.5")
    engine.start_batch("B1")
    engine.start_batch("B1")  # a second start while one runner is on its way launches none
    wait_for(lambda: bool(runner_processes(paths)))
    [pid] = runner_processes(paths)
    wait_for(lambda: engine.get_batches("B1")[0].status is BatchStatus.Synced)
    wait_for(lambda: not Path(f"/proc/{pid}").exists())  # exited by itself, and was reaped
    assert [p for p, _ in sync_starts(tmp_path)] == [pid]
    assert leases(paths) == []  # the runner released its own and the shell's launch lease
    assert (paths.log_dir / "imsh-runner.out").exists()


def test_work_made_due_after_the_runner_exited_launches_a_new_one(
    engine: Engine, paths: StatePaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMSH_TEST_SYNC_SECONDS", "0.2")
    engine.start_batch("B1")
    wait_for(lambda: bool(runner_processes(paths)))
    [pid] = runner_processes(paths)
    wait_for(lambda: not Path(f"/proc/{pid}").exists())
    engine.set_batch("B1", BatchChanges(sync_now=True))  # at once: no 15 s launch-lease gap
    wait_for(lambda: len(sync_starts(tmp_path)) == 2, timeout=5)
    assert sync_starts(tmp_path)[1][0] != pid
    wait_for(lambda: user_status(paths) == "IncrementalSynced")


def test_service_stops_cleanly_on_sigterm(paths: StatePaths, engine: Engine) -> None:
    process = service(paths)
    try:
        wait_for(lambda: any(r.startswith("runner:") for r in leases(paths)))
        engine.start_batch("B1")  # a runner is active: nothing is launched
        wait_for(lambda: user_status(paths) == "Syncing")
        wait_for(lambda: any(r.startswith("user:") for r in leases(paths)))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "SIGTERM received; stopping cleanly" in stderr
    assert "Traceback" not in stderr
    assert leases(paths) == []
    assert user_status(paths) == "Syncing"  # unfinished, due again for the next runner
    log_file = paths.log_dir / "imsh-service.log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert "SIGTERM received" in log_file.read_text()


def test_killed_runner_lease_is_taken_over_at_once(
    paths: StatePaths, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMSH_LEASE_TTL", "30")  # far longer than the second runner needs
    first = service(paths)
    try:
        wait_for(lambda: any(r.startswith("runner:") for r in leases(paths)))
        engine.start_batch("B1")  # a runner is active: nothing is launched
        wait_for(lambda: user_status(paths) == "Syncing")
        # the claim marks the user Syncing before the worker calls the syncer: under load
        # a kill between the two left no start of the first runner to count
        wait_for(lambda: [p for p, _ in sync_starts(tmp_path)] == [first.pid])
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    with Store.open(paths) as store:
        [lease] = store.leases.active(prefix="user:")
    assert "user:" in lease.resource and lease.expires_at > datetime.now(UTC)
    monkeypatch.setenv("IMSH_SERVICE_SYNCER", f"{SYNCERS}:quick")
    second = service(paths, "--until-idle")
    _, stderr = second.communicate(timeout=30)
    assert second.returncode == 0, stderr
    starts = sync_starts(tmp_path)
    assert [p for p, _ in starts] == [first.pid, second.pid]
    # its PID is gone, so its lease is free at once (engine/runner/liveness.py): the second
    # runner does not wait for the expiry
    assert starts[1][1] < lease.expires_at.timestamp(), "the dead runner's lease was awaited"
    assert user_status(paths) == "Synced"
    assert leases(paths) == []
