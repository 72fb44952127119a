"""Store.open on damaged and brand-new databases (engine level, real files)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from engine.store.db import BlankDatabase, DamagedDatabase, Database


def test_concurrent_first_opens_share_one_database(tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "state", env={})
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            with Store.open(paths) as store:
                assert store.endpoints.find("LocalMaildir") is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in paths.root.iterdir()) == ["secret.key", "state.db"]


def test_blank_database_refused_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"")
    with pytest.raises(BlankDatabase):
        Database.open(path, allow_blank=False)
    assert path.read_bytes() == b""  # nothing written, not even the WAL switch
    Database.open(path).close()


def test_file_shorter_than_its_header_is_damaged(tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "state", env={})
    Store.open(paths).close()
    with paths.db.open("r+b") as handle:
        handle.truncate(8192)
    with pytest.raises(DamagedDatabase, match=r"restore state\.db from your backup"):
        Database.open(paths.db)
