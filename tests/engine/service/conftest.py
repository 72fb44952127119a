"""Fixtures for the engine façade tests: a fresh state directory and an open Engine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.service import Engine
from engine.service.endpoints import EndpointRequest


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine.open(resolve_state_paths(tmp_path / "state")) as opened:
        yield opened


@pytest.fixture
def source(engine: Engine) -> str:
    """An IMAP source endpoint stored without verification (nothing listens there)."""
    engine.new_endpoint(EndpointRequest(name="Source", kind=EndpointType.IMAP,
                                        remote_server="127.0.0.1", port=9,
                                        skip_verification=True))
    return "Source"


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, read straight from the database file."""
    with sqlite3.connect(engine.store.paths.db) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@pytest.fixture
def short_release_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove waits 0.5 s, not 20 s, for a runner that never lets go (the test's own lease):
    what Remove does after the wait is the same."""
    from functools import partial

    from engine.service import batches, common, users

    for module in (batches, users):
        monkeypatch.setattr(module, "wait_released", partial(common.wait_released, timeout=0.5))
