"""The lease fence (tests/integration/test_sync_lease_fence.py) with the state in PostgreSQL: a
runner that lost its user's lease appends and records nothing more, and none appends on a
lease about to expire. The same test functions, re-collected here with ``IMSH_DATABASE`` set to
a fresh database of the session's cluster (SyncEnv resolves its state paths from the
environment), so the fence is proved on both backends without a copy of the tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.integration.test_sync_lease_fence import (  # noqa: F401  (re-collected here)
    source,
    test_a_runner_whose_lease_was_taken_appends_and_records_nothing_more,
    test_no_append_starts_on_a_lease_about_to_expire,
)

pytestmark = pytest.mark.servers


@pytest.fixture(autouse=True)
def _state_in_postgresql(monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[None]:
    monkeypatch.setenv("IMSH_DATABASE", postgres_url)
    yield
    with psycopg.connect(postgres_url) as pg:  # the test's state really was in PostgreSQL
        leases = pg.execute("SELECT COUNT(*) FROM leases").fetchone()
    assert leases is not None and leases[0] >= 1
