"""The interactive shell in a real terminal (tmux): completion, history, multi-line input.

A person types here; the test drives tmux with send-keys and reads the screen with
capture-pane, so prompt_toolkit's terminal path (not the piped-stdin path) is exercised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """One tmux session running ``imsh``."""

    def __init__(self, state: Path) -> None:
        self.name = f"imsh-{uuid.uuid4().hex[:8]}"
        # a tmux server of its own (-L): on the shared default one, another test's last
        # kill-session stops the server while this new-session connects to it
        self.tmux = ("tmux", "-L", self.name)
        self.state = state

    def start(self) -> None:
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
             f"env NO_COLOR=1 imsh --state {self.state}"],
            check=True,
        )
        self.wait_for(lambda screen: "PS " in screen, "the prompt")

    def send(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def type_text(self, text: str) -> None:
        self.send("-l", "--", text)

    def type_line(self, text: str) -> None:
        self.type_text(text)
        self.send("Enter")

    def screen(self) -> str:
        result = subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name],
                                capture_output=True, text=True, check=True)
        return result.stdout

    def wait_for(self, ready: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def settle(self, quiet: float = 0.4, timeout: float = 10) -> str:
        """Wait until the screen stops changing (a redraw after a completion has landed), so
        the next keys are not typed into a line the console is still redrawing."""
        deadline = time.monotonic() + timeout
        last, since = self.screen(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.screen()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last

    def stop(self) -> None:
        where = subprocess.run([*self.tmux, "display-message", "-p", "#{socket_path}"],
                               capture_output=True, text=True, check=False).stdout.strip()
        subprocess.run([*self.tmux, "kill-server"], check=False, capture_output=True)
        # the socket file stays behind otherwise (also when imsh exited and took the server)
        default = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / self.name
        Path(where or default).unlink(missing_ok=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path / "state")
    term.start()
    yield term
    term.stop()


def test_tab_completes_cmdlet_and_parameter_names(terminal: Terminal) -> None:
    terminal.type_text("Get-MigrationBat")
    terminal.send("Tab")
    terminal.wait_for(lambda s: "Get-MigrationBatch" in s, "the cmdlet name completed")
    terminal.type_text("-Stat")  # completion already added the space
    terminal.send("Tab")
    terminal.wait_for(lambda s: "Get-MigrationBatch -Status" in s, "the parameter completed")


def test_tab_completes_known_identities(terminal: Terminal) -> None:
    terminal.type_line("Get-MigrationEndpoint | Out-String | Out-Null")
    # the next prompt first: keys typed while the line runs are echoed into its redraw
    terminal.wait_for(lambda s: s.count("PS ") >= 2, "the prompt after the first line")
    terminal.type_text("Get-MigrationEndpoint Local")
    terminal.send("Tab")
    terminal.wait_for(lambda s: "Get-MigrationEndpoint LocalMaildir" in s,
                      "the endpoint name completed from the state store")


def test_multi_line_input_continues_until_the_statement_is_complete(terminal: Terminal) -> None:
    terminal.type_line("foreach ($n in 1..3) {")
    terminal.wait_for(lambda s: "\n>>" in s, "the continuation prompt")
    terminal.type_line('  Write-Host "line $n"')
    terminal.type_line("}")
    screen = terminal.wait_for(lambda s: "line 3" in s, "the loop output")
    assert "line 1" in screen and "line 2" in screen


def test_history_is_recalled_and_survives_a_restart(tmp_path: Path) -> None:
    first = Terminal(tmp_path / "state")
    first.start()
    try:
        first.type_line("Write-Host ('remember' + 'me')")
        first.wait_for(lambda s: "rememberme" in s, "the first output")
        first.send("Up")
        first.wait_for(lambda s: s.count("Write-Host ('remember' + 'me')") >= 2,
                       "the line recalled with the up arrow")
        first.send("C-u")
        first.type_line("quit")
        time.sleep(0.5)
    finally:
        first.stop()
    second = Terminal(tmp_path / "state")
    second.start()
    try:
        second.send("Up")  # the `quit` typed last
        second.send("Up")
        second.wait_for(lambda s: "Write-Host ('remember' + 'me')" in s,
                        "the line recalled from the previous session's history")
    finally:
        second.stop()


def test_tab_completes_variables_and_their_members(terminal: Terminal) -> None:
    terminal.type_line("$WaveBatchName = 'Wave5'")
    # the next prompt first: keys typed while the line runs are echoed into its redraw (the
    # first line of a session is the slowest: seen as "Write-Output chNameat" on CI)
    terminal.wait_for(lambda s: s.count("PS ") >= 2, "the prompt after the first line")
    terminal.settle()
    # (a line that is no prefix of the one before, so no history suggestion follows it)
    terminal.type_text("Write-Output $WaveBat")
    terminal.send("Tab")
    terminal.wait_for(lambda s: s.rstrip().endswith("> Write-Output $WaveBatchName"),
                      "the variable name completed (no space after it)")
    terminal.settle()
    terminal.type_text(".Leng")
    terminal.settle()
    terminal.send("Tab")
    terminal.wait_for(lambda s: "Write-Output $WaveBatchName.Length" in s,
                      "the property name completed")
