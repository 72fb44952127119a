# ruff: noqa: F811  (the fixture paths is imported and then requested)
"""An unshared Maildir target is written by one host only (engine/maildir_sharing.py): in a
PostgreSQL state the first claim binds it to the claiming host, a runner on another host
claims none of its users, and marking it shared lifts the binding. An SQLite state is one
machine's: no binding, so a changed hostname keeps its Maildir."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.maildir_sharing import SHARED_STORAGE, WRITER_HOST
from engine.paths import StatePaths
from engine.runner.passes import claim_user
from engine.store import Store
from tests.engine.runner.test_runner import add_batch
from tests.engine.store.test_store import paths  # noqa: F401  (both backends)

TTL = timedelta(minutes=1)


@pytest.mark.parametrize("paths", ["postgresql"], indirect=True)
def test_the_first_host_to_claim_keeps_an_unshared_maildir_until_it_is_marked_shared(
        paths: StatePaths) -> None:
    with Store.open(replace(paths, host="host-a")) as on_a:
        first, second = add_batch(on_a, "b1", 2)  # into LocalMaildir, a Maildir endpoint
        now = datetime.now(UTC)
        assert claim_user(on_a, first, "runner-a", TTL, now) is not None
        assert on_a.endpoints.get("LocalMaildir").extra[WRITER_HOST] == "host-a"
    with Store.open(replace(paths, host="host-b")) as on_b:
        assert claim_user(on_b, second, "runner-b", TTL, now) is None
        assert on_b.users.get_by_id(second).status == "Queued"
        maildir = on_b.endpoints.get("LocalMaildir")
        on_b.endpoints.update(replace(maildir, extra={SHARED_STORAGE: True}))
        assert claim_user(on_b, second, "runner-b", TTL, now) is not None


@pytest.mark.parametrize("paths", ["sqlite"], indirect=True)
def test_an_sqlite_state_never_binds_its_maildir_to_a_hostname(paths: StatePaths) -> None:
    with Store.open(replace(paths, host="old-name")) as before:
        first, second = add_batch(before, "b1", 2)
        now = datetime.now(UTC)
        assert claim_user(before, first, "runner-a", TTL, now) is not None
        assert WRITER_HOST not in before.endpoints.get("LocalMaildir").extra
    with Store.open(replace(paths, host="new-name")) as after:  # the machine was renamed
        assert claim_user(after, second, "runner-b", TTL, now) is not None
