"""Step 7.7: the target's index is rebuilt (Dovecot gives the folder a new UIDVALIDITY and
keeps its messages). The next pass over that folder must re-match the copies by fingerprint,
not append the whole folder again; a message deleted on the source meanwhile is still removed
from the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.adopt_support import fill, message, new_flow, set_target_uidvalidity
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_target_index_rebuild_does_not_append_the_folder_again(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    client = flow.source_client()
    try:
        fill(client, "Archive", 20, flags=(b"\\Seen",))
    finally:
        client.logout()
    flow.migrate()
    assert flow.counts()["Archive"] == 20

    client = flow.target_client()
    try:
        validity = client.folder_status("Archive", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    finally:
        client.logout()
    assert flow.target_user is not None
    set_target_uidvalidity(dovecot_target, flow.target_user, "Archive", validity + 1000)

    client = flow.source_client()  # the source folder changes too, so it is listed
    try:
        client.select_folder("Archive")
        client.delete_messages(client.search(["ALL"])[:1])
        client.expunge()
        client.append("Archive", message(77, "new", "n"))
        client.add_flags(client.search(["ALL"])[:3], [b"\\Flagged"])
    finally:
        client.logout()
    status, error = flow.sync_now()
    assert "Failed" not in status and error is None, (status, error)
    assert flow.counts()["Archive"] == 20, flow.counts()
    difference = flow.compare()
    assert difference is None, difference
    client = flow.target_client()
    try:
        after = client.folder_status("Archive", [b"UIDVALIDITY", b"UIDNEXT"])
    finally:
        client.logout()
    assert after[b"UIDVALIDITY"] == validity + 1000
    assert after[b"UIDNEXT"] == 22  # 20 copies, then the one new message: nothing appended again
