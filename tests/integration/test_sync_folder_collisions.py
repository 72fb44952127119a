"""Two source folders that the target would spell alike get target folders of their own.

On a Maildir++ target ``A.B`` and ``A_B`` are both ``.A_B``. Without care both folder workers
append into that one directory (and its ``dovecot-keywords``). The later folder is given
``A_B (2)``, its subfolders follow it, and the choice is stored, so later passes keep it even
when a new source folder is literally named ``A_B (2)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync.state import decode_target_path
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers


def message(n: int) -> bytes:
    return (f"From: a@example.org\r\nSubject: m{n}\r\nMessage-ID: <collide-{n}@x>\r\n\r\n"
            f"body {n}\r\n").encode()


def deliver(server: ImapServer, user: str, counts: dict[str, int], start: int = 0) -> None:
    client = server.login(user)
    try:
        n = start
        for folder, count in counts.items():
            client.create_folder(folder)
            for _ in range(count):
                n += 1
                client.append(folder, message(n))
    finally:
        client.logout()


def in_cur(tree: Path, directory: str) -> int:
    return len(os.listdir(tree / directory / "cur"))


def test_colliding_folders_get_distinct_stable_target_folders(dovecot: ImapServer) -> None:
    user = dovecot.fresh_user()
    deliver(dovecot, user, {"A.B": 2, "A_B": 3, "A_B/C": 1})
    env = SyncEnv(dovecot, user)
    try:
        assert env.run().kind is OutcomeKind.ok
        tree = env.maildir_root / env.address.lower()
        assert (in_cur(tree, ".A_B"), in_cur(tree, ".A_B (2)"), in_cur(tree, ".A_B (2).C")) == (
            2, 3, 1)

        deliver(dovecot, user, {"A_B (2)": 4}, start=100)
        assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
        assert env.run(SyncKind.incremental).kind is OutcomeKind.ok
        counts = {d: in_cur(tree, d) for d in (".A_B", ".A_B (2)", ".A_B (2).C",
                                               ".A_B (2) (2)")}
        assert counts == {".A_B": 2, ".A_B (2)": 3, ".A_B (2).C": 1, ".A_B (2) (2)": 4}
        with env.open_store() as store:
            stored = {r.source_name: decode_target_path(r.target_name)
                      for r in store.folders.list(env.user_id)}
            warnings = [e.message for e in store.statistics.report_entries(env.user_id)
                        if e.kind == "warning"]
        assert stored["A_B"] == ("A_B (2)",) and stored["A_B (2)"] == ("A_B (2) (2)",)
        assert len(set(stored.values())) == len(stored)
        assert sum("another source folder fills" in w for w in warnings) == 3
    finally:
        env.cleanup()
