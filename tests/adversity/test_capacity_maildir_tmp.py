"""Maildir ``tmp/`` housekeeping (pure filesystem, no server): opening a user's tree removes
files a crash left in ``tmp/`` more than 36 hours ago, as the Maildir specification asks, and
never a delivery in progress — whose file already carries the INTERNALDATE (years ago) as its
mtime before the rename into ``cur/``: staleness counts the ctime too."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.targets.base import TargetMailbox
from engine.targets.maildir import STALE_TMP_SECONDS, MaildirTarget, remove_stale_tmp


def test_tmp_files_are_removed_only_when_untouched_for_36_hours(tmp_path: Path) -> None:
    target = MaildirTarget(tmp_path, fsync=False)
    target.open_user(TargetMailbox("ann@contoso.com"))
    target.ensure_folders([("Archive",)])
    tree = tmp_path / "ann@contoso.com"
    in_progress, crashed = tree / ".Archive" / "tmp" / "delivering.1", tree / "tmp" / "crashed.2"
    for path in (in_progress, crashed):
        path.write_bytes(b"half a message")
    long_ago = time.time() - 10 * 365 * 86400
    os.utime(in_progress, (long_ago, long_ago))  # what a delivery does before its rename

    MaildirTarget(tmp_path, fsync=False).open_user(TargetMailbox("ann@contoso.com"))
    assert in_progress.exists() and crashed.exists()

    # 36 hours later (ctime cannot be set back, so the clock moves instead)
    assert remove_stale_tmp(tree, time.time() + 60) == 2
    assert not in_progress.exists() and not crashed.exists()
    assert STALE_TMP_SECONDS == 36 * 3600
