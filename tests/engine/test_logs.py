"""engine/logs.py: the on-demand runner's output file is rolled over, never grows for ever."""

from __future__ import annotations

from pathlib import Path

from engine.logs import log_files, rotate_output


def test_runner_output_is_rolled_over_once_it_is_large_and_old_copies_are_dropped(
        tmp_path: Path) -> None:
    out = tmp_path / "imsh-runner.out"
    assert rotate_output(out, max_bytes=10) is False  # nothing there yet
    for generation in range(5):
        out.write_text(f"crash {generation}\n" * 3, encoding="utf-8")
        assert rotate_output(out, max_bytes=10, backups=2) is True
        assert not out.exists()  # the launcher creates it again, 0600
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["imsh-runner.out.1", "imsh-runner.out.2"]
    assert (tmp_path / "imsh-runner.out.1").read_text(encoding="utf-8").startswith("crash 4")
    assert (tmp_path / "imsh-runner.out.2").read_text(encoding="utf-8").startswith("crash 3")


def test_small_runner_output_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "imsh-runner.out"
    out.write_text("one line\n", encoding="utf-8")
    assert rotate_output(out, max_bytes=1024) is False
    assert out.read_text(encoding="utf-8") == "one line\n"


def test_the_two_log_files_live_in_the_log_directory(tmp_path: Path) -> None:
    assert log_files(tmp_path) == (tmp_path / "imsh-service.log", tmp_path / "imsh-runner.out")
