"""Listing users reads a few queries for all of them (engine/service/user_facts.py), and what it
reads is what reading each user alone gives. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.model import DataConsistencyScore
from engine.paths import StatePaths, resolve_state_paths
from engine.service import Engine
from engine.service.users import user_info
from engine.store import Store
from engine.store.proofs import ProofRow
from engine.store.sync_state import CopiedMessage, FolderRow, PendingMessage
from engine.store.user_settings import UserSettings
from engine.verify.score import batch_score
from tests.engine.runner.test_runner import add_batch

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    paths: StatePaths = resolve_state_paths(tmp_path / "state", env={})
    if request.param == "postgresql":
        paths = dataclasses.replace(paths, database=request.getfixturevalue("postgres_url"))
    with Store.open(paths) as opened:
        yield opened


def _dress(store: Store, user_ids: list[int]) -> None:
    """Give the first users everything a UserInfo reads: statistics, a proof, settings, holds."""
    first, second = user_ids[0], user_ids[1]
    store.statistics.add_counts(first, synced=10, skipped=1, bytes_transferred=999)
    store.proofs.record(ProofRow(second, T0, "manual", "Investigate", 3, 40, 38, 2, 0, 0, 0, 1))
    store.proofs.record(ProofRow(second, T0, "manual", "Good", 3, 40, 40, 0, 1, 0, 0, 0))
    store.user_settings.save(UserSettings(first, bad_item_limit=5, start_after=T0))
    folder = store.folders.save(second, FolderRow("INBOX"))
    store.messages.record_pending(folder.id, [PendingMessage(1, "fp1", 1)])
    store.messages.record_copied(folder.id, [CopiedMessage(1, "1:1")])
    store.messages.hold(folder.id, [1], [])
    store.folders.save(second, dataclasses.replace(store.folders.get(second, "INBOX"),
                                                   hold="held"))


def _counting(store: Store) -> list[str]:
    seen: list[str] = []
    execute = store.db.execute

    def counted(sql: str, params: Any = ()) -> Any:
        seen.append(sql)
        return execute(sql, params)

    store.db.execute = counted  # type: ignore[method-assign]
    return seen


def test_a_listing_shows_each_user_as_reading_it_alone_does(store: Store) -> None:
    ids = add_batch(store, "B1", 4) + add_batch(store, "B2", 2)
    _dress(store, ids)
    engine = Engine(store)
    listed = engine.get_users()
    alone = [user_info(store, store.users.get_by_id(i)) for i in ids]
    assert listed == alone
    assert engine.get_users(batch="B2") == alone[4:]
    by_id = dict(zip(ids, listed, strict=True))
    assert by_id[ids[0]].statistics.synced_item_count == 10
    assert by_id[ids[0]].settings == UserSettings(ids[0], bad_item_limit=5, start_after=T0)
    assert by_id[ids[1]].data_consistency_score is DataConsistencyScore.Good  # latest proof
    assert (by_id[ids[1]].held_deletions, by_id[ids[1]].held_folders) == (1, 1)
    [b1] = engine.get_batches("B1")
    assert b1.users_with_held_deletions == 1
    # the worst of its users' (the first skipped 1 of 11 items), as user by user
    assert b1.data_consistency_score is batch_score(store, ids[:4]) is DataConsistencyScore.Poor


def test_listing_fifty_users_takes_as_many_queries_as_listing_five(store: Store) -> None:
    add_batch(store, "Small", 5)
    add_batch(store, "Large", 50)
    engine = Engine(store)

    def queries(batch: str) -> int:
        seen = _counting(store)
        engine.get_users(batch=batch)
        engine.get_batches(batch)
        count = len(seen)
        del store.db.execute  # the instance's counter goes; the class's method is back
        return count

    small, large = queries("Small"), queries("Large")
    assert small == large, (small, large)
    assert large < 30
