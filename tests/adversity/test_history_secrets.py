"""The console keeps secrets out of its history file, and its files private from the start.

Before: the console's ``history`` file (mode 0644) held lines such as
``ConvertTo-SecureString 'pw' -AsPlainText -Force`` in plain text, and a state directory the
console created started as 0755 (cmd2 made it for the history file before the store's 0700
rule ran, which then left the "user's" directory alone). Now lines that look secret-bearing
are kept out of the file, as PSReadLine's default AddToHistoryHandler does (they can still be
recalled with the up arrow until the console exits), the history file is 0600 even if it was
0644 before, and the state directory is 0700 from its first mkdir, whichever way imsh starts.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversity.binding_support import ROOT, imsh_argv
from tests.adversity.console_support import Console, history_lines

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

PASSWORD = "Sup3r-S3cret-7731"
SECRET_LINES = (
    f"$p = ConvertTo-SecureString '{PASSWORD}' -AsPlainText -Force",
    f"$q = ConvertTo-SecureString '{PASSWORD}q' -a -f",  # prefixes: no 'asplaintext' to see
    f"$token = '{PASSWORD}t'",
    f"$cfg = @{{ ApiKey = '{PASSWORD}k' }}",
    f"Write-Output '{PASSWORD}s' | Out-Null  # my secret",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    term = Console(tmp_path / "state")
    yield term
    term.stop()


def test_secret_lines_stay_out_of_the_history_file(console: Console) -> None:
    console.start()
    for line in SECRET_LINES:
        console.type_line(line)
    console.type_line("Write-Host ('harmless' + 'line')")
    console.wait_for(lambda s: "harmlessline" in s, "the harmless line's output")
    console.send("Up")  # still recallable in this session (PSReadLine's MemoryOnly)
    console.send("Up")
    console.wait_for(lambda s: s.count("# my secret") >= 2, "the secret line recalled in memory")
    console.send("C-u")
    console.quit()

    saved = history_lines(console.state / "history")
    assert "Write-Host ('harmless' + 'line')" in saved
    assert not [line for line in saved if PASSWORD in line], saved
    assert PASSWORD.encode() not in (console.state / "history").read_bytes()


def test_history_file_is_private(console: Console) -> None:
    console.start()
    console.type_line("Write-Host 'one line'")
    console.wait_for(lambda s: "one line" in s.split("Write-Host")[-1], "the output")
    console.quit()
    assert mode(console.state / "history") == 0o600


def test_history_file_left_world_readable_is_made_private(console: Console) -> None:
    console.state.mkdir(mode=0o700)
    history = console.state / "history"
    history.write_bytes(b"")
    history.chmod(0o644)
    console.start()
    assert mode(history) == 0o600  # at once, not only when the console exits
    console.quit()
    assert mode(history) == 0o600


def test_console_creates_its_state_directory_private(console: Console) -> None:
    console.start()
    assert mode(console.state) == 0o700  # before any cmdlet touched the store
    console.quit()
    assert mode(console.state) == 0o700


def test_state_directory_an_older_console_left_open_is_made_private(console: Console) -> None:
    console.state.mkdir()
    console.state.chmod(0o755)
    (console.state / "history").write_bytes(b"")
    console.start()
    assert mode(console.state) == 0o700
    console.quit()


@pytest.mark.parametrize("front_end", ["-c", "script", "service"])
def test_state_directory_is_private_under_an_open_umask(tmp_path: Path, front_end: str) -> None:
    state = tmp_path / "state"
    script = tmp_path / "s.imsh"
    script.write_text("Get-MigrationBatch | Out-Null\n", encoding="utf-8")
    args = {"-c": ["-c", "Get-MigrationBatch | Out-Null"], "script": [str(script)],
            "service": ["service", "--until-idle"]}[front_end]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_KEY_FILE", None)
    done = subprocess.run([*imsh_argv(), "--state", str(state), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False,
                          preexec_fn=lambda: os.umask(0))
    assert done.returncode == 0, done.stderr
    assert mode(state) == 0o700
    assert mode(state / "state.db") == 0o600 and mode(state / "secret.key") == 0o600
