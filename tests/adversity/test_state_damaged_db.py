"""A damaged ``state.db`` stops imsh with a clear error; it never starts over on it.

SQLite takes a 0-byte file for a valid, empty database, so a ``state.db`` emptied by a full
disk, a bad restore or ``> state.db`` used to be initialised again: every batch, user and
sealed password silently gone, and the next Get-MigrationBatch showing nothing. Now a state
directory whose database is empty, truncated or not a database at all is refused, by the
console script and by the runner, and the file is left exactly as it was found; a genuinely
new state directory still initialises.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversity.binding_support import ROOT, Admin, run_imsh, with_batches
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]


def used_state(tmp_path: Path, dovecot: ImapServer) -> Admin:
    admin = with_batches(tmp_path, dovecot, "Production")
    assert list(admin.batches()) == ["Production"]
    return admin


def damage(db: Path, how: str) -> bytes:
    """Damage the database file; return its bytes afterwards."""
    size = db.stat().st_size
    if how == "empty":
        db.write_bytes(b"")
    elif how == "truncated":
        with db.open("r+b") as handle:
            handle.truncate(size // 2 + 123)
    elif how == "header only":
        with db.open("r+b") as handle:
            handle.truncate(4096)
    elif how == "not sqlite":
        db.write_bytes(b"this is a tar archive, restored to the wrong name\n" * 50)
    return db.read_bytes()


@pytest.mark.parametrize("how", ["empty", "truncated", "header only", "not sqlite"])
def test_damaged_state_db_is_refused_and_left_as_found(
    tmp_path: Path, dovecot: ImapServer, how: str
) -> None:
    admin = used_state(tmp_path, dovecot)
    db = admin.state / "state.db"
    before = damage(db, how)

    result = admin.line("Get-MigrationBatch")

    assert result.returncode != 0, result.text
    assert str(db) in result.stderr, result.text
    assert "backup" in result.stderr, result.text
    assert "Traceback" not in result.text
    assert db.read_bytes() == before  # not initialised, not "repaired"


def test_emptied_state_db_does_not_come_back_as_a_new_store(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = used_state(tmp_path, dovecot)
    damage(admin.state / "state.db", "empty")
    admin.line("Get-MigrationBatch")
    result = admin.line("New-MigrationEndpoint -Maildir -Name Fresh -Path ./m")
    assert result.returncode != 0, result.text
    assert (admin.state / "state.db").stat().st_size == 0


def test_runner_refuses_an_emptied_state_db(tmp_path: Path, dovecot: ImapServer) -> None:
    admin = used_state(tmp_path, dovecot)
    damage(admin.state / "state.db", "empty")
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_SERVICE_SYNCER", None)
    service = subprocess.run(
        [sys.executable, "-m", "shell.main", "--state", str(admin.state), "service",
         "--until-idle"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        check=False)
    assert service.returncode != 0, service.stderr
    assert "state.db" in service.stderr and "backup" in service.stderr, service.stderr
    assert (admin.state / "state.db").stat().st_size == 0


def test_new_state_directory_still_initialises(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = run_imsh(["--state", str(state), "-c", "(Get-MigrationEndpoint).Identity"],
                      tmp_path)
    assert result.returncode == 0, result.text
    assert result.stdout.strip() == "LocalMaildir"
    assert sorted(p.name for p in state.iterdir()) == ["secret.key", "state.db"]


def test_empty_db_left_by_an_interrupted_first_start_is_initialised(tmp_path: Path) -> None:
    # An older imsh killed between creating state.db and writing its schema left a 0-byte
    # file and no key: nothing was ever stored there, so starting it is not "starting over".
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "state.db").write_bytes(b"")
    result = run_imsh(["--state", str(state), "-c", "(Get-MigrationEndpoint).Identity"],
                      tmp_path)
    assert result.returncode == 0, result.text
    assert result.stdout.strip() == "LocalMaildir"
