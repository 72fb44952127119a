"""Errors red and warnings yellow on a terminal, as PowerShell 7 shows them; plain when piped;
Ctrl-C stops a pipeline without an error record."""

from __future__ import annotations

import fcntl
import io
import os
import select
import signal
import struct
import termios
import threading

import pytest

from shell.session import Session
from shell.wiring import build_registry


def _session(stderr: io.TextIOBase) -> Session:
    out = io.StringIO()
    return Session(build_registry(), engine_factory=lambda: None, stdout=out,
                   stderr=stderr, interactive=False)  # type: ignore[arg-type]


def _on_a_terminal(script: str) -> str:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        with os.fdopen(slave, "w", closefd=False) as err:
            _session(err).run(script)
            err.flush()
        chunks = []
        while select.select([master], [], [], 0.2)[0]:
            chunks.append(os.read(master, 65536))
        return b"".join(chunks).decode()
    finally:
        os.close(master)
        os.close(slave)


def test_errors_are_bold_red_and_warnings_bold_yellow_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    shown = _on_a_terminal("Write-Warning 'careful'; Write-Error 'broken'")
    assert "\x1b[33;1mWARNING: careful\x1b[0m" in shown
    assert "\x1b[31;1m" in shown and "broken" in shown
    first_error_line = next(line for line in shown.splitlines() if "broken" in line)
    assert first_error_line.startswith("\x1b[31;1m") and first_error_line.endswith("\x1b[0m")


def test_no_colour_when_piped_or_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    _session(err).run("Write-Warning 'careful'; Write-Error 'broken'")
    assert "\x1b[" not in err.getvalue() and "WARNING: careful" in err.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _on_a_terminal("Write-Warning 'careful'")


def test_ctrl_c_stops_the_pipeline_without_an_error_record() -> None:
    """PowerShell is silent on Ctrl-C; imsh printed a PipelineStoppedException record."""
    err = io.StringIO()
    session = _session(err)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        result = session.run("Start-Sleep -Seconds 20; 'not reached'")
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert not result.ok
    assert err.getvalue() == ""
    assert "not reached" not in session.stdout.getvalue()  # type: ignore[attr-defined]
