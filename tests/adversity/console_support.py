"""A real terminal (tmux) running the ``imsh`` console, for the history and permission tests.

Same approach as tests/integration/test_terminal.py: keys go in with ``send-keys``, the screen
comes back with ``capture-pane``, so prompt_toolkit's terminal path runs. The command runs
under an explicit umask (022 unless told), as a login shell would give it.
"""

from __future__ import annotations

import json
import lzma
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path


class Console:
    """One tmux session running ``imsh --state STATE``."""

    def __init__(self, state: Path, *, umask: str = "022") -> None:
        self.name = f"imsh-{uuid.uuid4().hex[:8]}"
        self.state = state
        self.umask = umask

    def start(self) -> None:
        command = (f"umask {self.umask}; exec env NO_COLOR=1 imsh --state "
                   f"{shlex.quote(str(self.state))}")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
                        "sh", "-c", command], check=True)
        self.wait_for(lambda screen: "PS " in screen, "the prompt")

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type_line(self, text: str) -> None:
        self.send("-l", "--", text)
        self.send("Enter")

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, ready: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def running(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True,
                              check=False).returncode == 0

    def quit(self) -> None:
        """Leave with ``quit`` (history is written on the way out) and wait for the exit."""
        self.type_line("quit")
        deadline = time.monotonic() + 20
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False,
                       capture_output=True)


def history_lines(path: Path) -> list[str]:
    """The statements cmd2 saved in the history file (lzma-compressed JSON)."""
    data = json.loads(lzma.decompress(path.read_bytes()).decode("utf-8"))
    return [item["statement"]["raw"] for item in data["history_items"]]
