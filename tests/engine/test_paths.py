"""State directory resolution and creation (engine.paths)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.errors import StateStoreError
from engine.paths import ensure_state_dir, resolve_state_paths


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_explicit_argument_wins_over_environment(tmp_path: Path) -> None:
    env = {"IMSH_HOME": str(tmp_path / "from-env")}
    paths = resolve_state_paths(tmp_path / "explicit", env=env)
    assert paths.root == tmp_path / "explicit"
    assert paths.db == tmp_path / "explicit" / "state.db"
    assert paths.key_file == tmp_path / "explicit" / "secret.key"
    assert paths.maildir_default == tmp_path / "explicit" / "maildir"
    assert paths.log_dir == tmp_path / "explicit" / "logs"


def test_environment_then_home_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_state_paths(env={"IMSH_HOME": str(tmp_path)}).root == tmp_path
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_state_paths(env={}).root == tmp_path / "home" / ".local/share/imsh"


def test_key_file_override_and_relative_paths_are_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = resolve_state_paths("state", env={"IMSH_KEY_FILE": "keys/k"})
    assert paths.root == tmp_path / "state"
    assert paths.key_file == tmp_path / "keys" / "k"


def test_creates_directory_0700_even_with_loose_umask(tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "a" / "b" / "imsh", env={})
    old = os.umask(0)
    try:
        ensure_state_dir(paths)
    finally:
        os.umask(old)
    assert paths.root.is_dir()
    assert _mode(paths.root) == 0o700


def test_tightens_a_state_directory_that_holds_imsh_state(tmp_path: Path) -> None:
    root = tmp_path / "imsh"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    (root / "state.db").touch()
    ensure_state_dir(resolve_state_paths(root, env={}))
    assert _mode(root) == 0o700


def test_leaves_a_users_own_existing_directory_alone(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    os.chmod(root, 0o750)
    ensure_state_dir(resolve_state_paths(root, env={}))
    assert _mode(root) == 0o750


def test_a_file_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateStoreError, match="not a directory"):
        ensure_state_dir(resolve_state_paths(tmp_path / "file", env={}))
