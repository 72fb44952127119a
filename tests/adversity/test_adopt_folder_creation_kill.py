"""Step 8.10: the runner is killed while it creates the target folders. Afterwards imsh must
still know which target folders it created (the only ones it may ever delete), so that a
later rename or removal on the source is carried out and no old folder stays behind. It used
to save that record only after the last CREATE: 0-1 of 17 folders were recorded after a kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.runner.jobs import OutcomeKind
from engine.sync import faults
from engine.sync.faults import SimulatedCrash
from tests.adversity.adopt_support import ADDRESS, imsh_argv, imsh_env, new_flow, wait_for
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

FOLDERS = [f"F{n:02d}" for n in range(1, 41)]


def crash_after_creating(step: str) -> None:
    if step == faults.AFTER_FOLDER_OP:
        raise SimulatedCrash(step)


def fill_folders(server: ImapServer, user: str) -> None:
    client = server.login(user)
    try:
        for name in FOLDERS:
            client.create_folder(name)
            client.append(name, f"Subject: {name}\r\nMessage-ID: <{name}@x>\r\n\r\nx\r\n".encode())
    finally:
        client.logout()


def test_crash_after_creating_folders_keeps_the_record(
    dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    fill_folders(dovecot, source_user)
    env = SyncEnv(dovecot, source_user, dovecot_target, target_user)
    try:
        with pytest.raises(SimulatedCrash):
            env.run(workers=1, hook=crash_after_creating)
        assert env.run(workers=1).kind is OutcomeKind.ok
        with env.open_store() as store:
            rows = {f.source_name: f for f in store.folders.list(env.user_id)}
        created = sorted(name for name, row in rows.items() if row.created_by_migration)
        assert created == FOLDERS, f"{len(created)} of {len(FOLDERS)} recorded as created"
    finally:
        env.cleanup()


def runner_pids(state: Path) -> list[int]:
    needle = f"--state {state} service"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if needle in argv.replace("\0", " "):
                found.append(int(entry.name))
    return found


def test_sigkill_while_creating_folders_keeps_the_record(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    fill_folders(dovecot, flow.source_user)
    flow.imsh("batch", f"""
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{flow.csv()}")) | Out-Null
""")  # noqa: E501
    watcher = flow.target_client()
    try:
        started = subprocess.run([*imsh_argv(), "--state", str(flow.state), "-c",
                                  "Start-MigrationBatch -Identity B1"], env=imsh_env(),
                                 cwd=flow.work, capture_output=True, text=True, timeout=60)
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 60
        while not any(name in FOLDERS for _f, _s, name in watcher.list_folders()):
            assert time.monotonic() < deadline, "no target folder was created"
        for pid in runner_pids(flow.state):  # the first target folder exists: kill now
            os.kill(pid, signal.SIGKILL)
        existing = sum(1 for _f, _s, name in watcher.list_folders() if name in FOLDERS)
    finally:
        watcher.logout()
    wait_for(lambda: not runner_pids(flow.state), 10, "the killed runner to go")
    assert existing < len(FOLDERS), "the kill landed after the folders were created"

    result = subprocess.run([*imsh_argv(), "--state", str(flow.state), "service",
                             "--until-idle"], env={**imsh_env(), "IMSH_LEASE_TTL": "1"},
                            cwd=flow.work, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        rows = {f.source_name: f for f in store.folders.list(user.id)}
    created = sorted(name for name, row in rows.items() if row.created_by_migration)
    assert created == FOLDERS, f"{len(created)} of {len(FOLDERS)} recorded as created"
    difference = flow.compare()
    assert difference is None, difference
