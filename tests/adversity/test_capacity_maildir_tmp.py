"""Maildir ``tmp/`` housekeeping (pure filesystem, no server): opening a user's tree removes
files a crash left in ``tmp/`` more than 36 hours ago, as the Maildir specification asks, and
leaves fresh ones (a delivery in progress) alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.targets.base import TargetMailbox
from engine.targets.maildir import STALE_TMP_SECONDS, MaildirTarget


def test_opening_a_tree_removes_tmp_files_older_than_36_hours(tmp_path: Path) -> None:
    target = MaildirTarget(tmp_path, fsync=False)
    target.open_user(TargetMailbox("ann@contoso.com"))
    target.ensure_folders([("Archive",)])
    tree = tmp_path / "ann@contoso.com"
    old, fresh = tree / "tmp" / "crashed.1", tree / ".Archive" / "tmp" / "in-progress.2"
    stale_too = tree / ".Archive" / "tmp" / "crashed.3"
    for path in (old, fresh, stale_too):
        path.write_bytes(b"half a message")
    long_ago = time.time() - STALE_TMP_SECONDS - 60
    for path in (old, stale_too):
        os.utime(path, (long_ago, long_ago))

    MaildirTarget(tmp_path, fsync=False).open_user(TargetMailbox("ann@contoso.com"))

    assert not old.exists() and not stale_too.exists()
    assert fresh.exists()
