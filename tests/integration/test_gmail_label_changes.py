"""Labels changed on a Gmail-shaped source after the first pass, followed by a second pass
(``-SyncNow``) through the real ``imsh`` console script (engine/sync/target_copy.py,
docs/gmail.md "Label changes"):

* under EveryLabel a label added gives a copy in that folder, made on the target from a copy
  it holds (``UID COPY``): no body is fetched from the source again; a label removed deletes
  that folder's copy;
* under OneCopy a message that left its folder moves on the target, again without its body;
* a label removal never deletes the last copy: when the new copy cannot be stored (a full
  target), the old one stays until it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversity.capacity_support import run_pass, set_quota
from tests.integration.test_gmail_flow import ONE_COPY_LAYOUT, migrate, proof
from tests.support.gmail import add_label, remove_label, subjects_by_folder
from tests.support.gmail_proxy import GmailExtension
from tests.support.imap_proxy import ImapProxy
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.fixture(scope="module")
def gmail() -> Iterator[ImapServer]:
    server = start_dovecot(nusers=3, special_use="gmail")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def quota_target() -> Iterator[ImapServer]:
    server = start_dovecot(nusers=1, quota=True)
    yield server
    server.stop()


@pytest.fixture
def quick_retries() -> Iterator[None]:
    """The runner retries after 2 s instead of 30 s (IMSH_RETRY_BASE, docs/service.md)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMSH_RETRY_BASE", "2")
        yield


def bodies_fetched(commands: list[bytes]) -> list[bytes]:
    return [c for c in commands if b"BODY.PEEK[]" in c.upper()]


def test_gmail_every_label_follows_a_label_added_and_removed_without_sending_a_body_again(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    with ImapProxy(gmail.host, gmail.port) as proxy:  # X-GM-EXT-1: labels from X-GM-LABELS
        extension = proxy.add(GmailExtension())
        flow, _ = migrate(tmp_path, gmail, dovecot_target, "-GmailLabelPolicy EveryLabel",
                          port=proxy.port, extension=extension)
        first = len(proxy.commands)
        add_label(gmail, flow.source_user, "b", "INBOX")
        remove_label(gmail, flow.source_user, "a", "Work")
        flow.sync_now()
        assert bodies_fetched(proxy.commands[first:]) == []  # b's INBOX copy: a UID COPY
        assert subjects_by_folder(dovecot_target, flow.target_user) == {
            "INBOX": [("a", True), ("b", False)],
            "Work": [("b", False)],
            "Work/ProjectX": [("b", False)],
            "Sent": [("c", False)],
            "Trash": [("e", False)],
            "Archive": [("d", False)],
        }
        proof(flow, 7)


def test_gmail_one_copy_moves_a_message_whose_label_was_removed_without_its_body(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    with ImapProxy(gmail.host, gmail.port) as proxy:  # no X-GM-EXT-1: fingerprints
        flow, _ = migrate(tmp_path, gmail, dovecot_target, "", port=proxy.port)
        first = len(proxy.commands)
        remove_label(gmail, flow.source_user, "a", "INBOX")  # a keeps Work: it moves there
        add_label(gmail, flow.source_user, "b", "INBOX")  # b stays where it was copied
        flow.sync_now()
        assert bodies_fetched(proxy.commands[first:]) == []
        assert subjects_by_folder(dovecot_target, flow.target_user) == {
            **{k: v for k, v in ONE_COPY_LAYOUT.items() if k != "INBOX"},
            "Work": [("a", True)],
        }
        proof(flow, 5)


@pytest.mark.usefixtures("quick_retries")
def test_gmail_a_label_removal_never_deletes_the_last_copy_of_a_message(
    tmp_path: Path, gmail: ImapServer, quota_target: ImapServer
) -> None:
    flow, _ = migrate(tmp_path, gmail, quota_target, "-GmailLabelPolicy EveryLabel")
    set_quota(quota_target, flow.target_user, 7)  # full: no new copy can be stored
    remove_label(gmail, flow.source_user, "b", "Work")  # b loses both labels: All Mail only,
    remove_label(gmail, flow.source_user, "b", "Work/ProjectX")  # so its copy goes to Archive
    run_pass(flow)
    held = subjects_by_folder(quota_target, flow.target_user)
    copies_of_b = [name for name, items in held.items() if ("b", False) in items]
    assert copies_of_b and "Archive" not in copies_of_b, held  # the old copy stays

    set_quota(quota_target, flow.target_user, None)
    run_pass(flow, timeout=90)  # the retry the backoff scheduled
    run_pass(flow)
    assert subjects_by_folder(quota_target, flow.target_user) == {
        "INBOX": [("a", True)],
        "Work": [("a", True)],
        "Sent": [("c", False)],
        "Trash": [("e", False)],
        "Archive": [("b", False), ("d", False)],
    }
    proof(flow, 6)
