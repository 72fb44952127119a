"""Step 8.1: a source folder whose UIDVALIDITY was reset while one of its messages vanished
(a restore from backup that missed a message). The pass must re-key the surviving rows and
delete the vanished message's copy, not fail on ``UNIQUE constraint failed`` every pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.adopt_support import fill, new_flow, reset_uidvalidity, total
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_source_reset_with_a_vanished_message_is_not_stuck(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    client = flow.source_client()
    try:
        fill(client, "Archive", 12)
    finally:
        client.logout()
    flow.migrate()
    assert flow.counts()["Archive"] == 12

    client = flow.source_client()
    try:
        assert reset_uidvalidity(client, "Archive", drop=1) == 11
    finally:
        client.logout()
    status, error = flow.sync_now()
    assert "Failed" not in status and error is None, (status, error)
    difference = flow.compare()
    assert difference is None, difference
    assert flow.counts()["Archive"] == 11
    assert total(flow.counts()) == total(flow.counts("source"))
