"""Progress display: a bar redrawn in place on a terminal, sparse plain lines when piped."""

from __future__ import annotations

import pytest

from shell import session as session_module
from shell.session import progress_bar
from tests.shell.lang_helpers import make_shell


def test_progress_bar_shows_fill_percentage_and_status() -> None:
    line = progress_bar("Waiting for B1", "Syncing: 1/3 users", 0.5, 120)
    assert line == "Waiting for B1 [############............]  50% Syncing: 1/3 users"


def test_progress_bar_without_a_fraction_and_cut_to_the_width() -> None:
    assert "[????????????????????????]" in progress_bar("A", "s", None, 120)
    assert len(progress_bar("A" * 200, "s", 0.1, 80)) == 79


def test_terminal_progress_redraws_one_line_on_stderr() -> None:
    shell = make_shell(interactive=True)
    shell.session.progress("Copy", "1 of 2", 0.5)
    shell.session.progress("Copy", "2 of 2", 1.0)
    shell.session.progress_done("Copy")
    text = shell.err.getvalue()
    assert text.count("\r\x1b[K") == 3 and "\n" not in text
    assert "[########################] 100% 2 of 2" in text


def test_piped_progress_prints_the_first_then_at_most_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter([100.0, 101.0, 102.0, 106.0, 106.5])
    monkeypatch.setattr(session_module.time, "monotonic", lambda: next(clock))
    shell = make_shell()
    for status, fraction in (("a", 0.1), ("b", 0.2), ("c", 0.3), ("d", 0.4), ("e", 1.0)):
        shell.session.progress("Copy", status, fraction)
    assert shell.err.getvalue().splitlines() == ["Copy: a 10%", "Copy: d 40%", "Copy: e 100%"]


def test_piped_progress_never_repeats_an_unchanged_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module.time, "monotonic", iter([0.0, 10.0, 20.0]).__next__)
    shell = make_shell()
    for _ in range(3):
        shell.session.progress("Copy", "same", 0.5)
    assert shell.err.getvalue() == "Copy: same 50%\n"


def _pty_of_width(columns: int) -> tuple[int, int]:
    import fcntl
    import os
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


def test_progress_on_an_80_column_terminal_fits_on_one_line() -> None:
    """The bar was cut at the session's default 120 columns: on an 80-column terminal every
    redraw wrapped and left a stale line behind."""
    import os

    from shell.session import Session
    from shell.wiring import build_registry

    master, slave = _pty_of_width(80)
    try:
        with os.fdopen(slave, "w", closefd=False) as err:
            session = Session(build_registry(), engine_factory=lambda: None, stdout=err,
                              stderr=err, interactive=True)
            status = "Syncing: 1/3 users, 2943/6000 items, 2301.2 MB, 12.5 MB/s and more"
            session.progress("Waiting for migration batch Wave1", status, 0.49)
            err.flush()
        import select

        chunks = []
        while select.select([master], [], [], 0.2)[0]:
            chunks.append(os.read(master, 4096))
        drawn = b"".join(chunks).decode()
    finally:
        os.close(master)
        os.close(slave)
    line = drawn.replace("\r\x1b[K", "")
    assert 0 < len(line) <= 79


def test_wait_rate_is_never_negative_after_a_user_was_removed() -> None:
    from cmdlets.migration.batches import MEGABYTE, transfer_rate

    assert transfer_rate(100 * MEGABYTE, 60 * MEGABYTE, 10.0) == 0.0
    assert transfer_rate(60 * MEGABYTE, 80 * MEGABYTE, 10.0) == 2.0


def test_wait_fraction_counts_users_not_yet_surveyed_as_not_begun() -> None:
    from cmdlets.migration.batches import _fraction

    # one of ten users surveyed and half copied: 5 %, not 50 %
    assert _fraction(0, 10, 50, 100, surveyed=1) == pytest.approx(0.05)
    assert _fraction(0, 10, 50, 100, surveyed=10) == pytest.approx(0.5)
    assert _fraction(10, 10, 100, 100, surveyed=10) == 1.0
