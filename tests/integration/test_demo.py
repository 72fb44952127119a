"""The README's first command: the demo migration runs and its comparer finds every copy."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.servers
@pytest.mark.slow
def test_demo_migrates_and_the_copies_are_identical() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo.run", "--users", "2", "--messages", "40"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "user1: identical" in result.stdout and "user2: identical" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
