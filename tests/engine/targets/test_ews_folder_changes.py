"""The EWS target's folder rename and delete-if-empty (incremental sync) against the local EWS
test double, which checks each request's shape (a violation fails the test).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import exchangelib
import pytest

from engine.secrets import Secret
from engine.targets.base import OutgoingMessage, TargetMailbox, TargetRef
from engine.targets.ews import EwsTarget
from engine.targets.ews_connection import EwsSettings
from tests.support.ews_double import EwsDouble, EwsDoubleServer
from tests.support.ews_double.store import Mailbox

ADMIN, ADMIN_PASSWORD = "svc", "svc-pw"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(EwsDouble(users={ADMIN: ADMIN_PASSWORD},
                                   impersonators={ADMIN})) as running:
        yield running
    exchangelib.close_connections()


@pytest.fixture
def address(server: EwsDoubleServer) -> Iterator[str]:
    name = f"folders{next(_numbers)}@example.org"
    server.double.add_mailbox(name)
    before = len(server.double.violations)
    yield name
    assert server.double.violations[before:] == []


@pytest.fixture
def target(server: EwsDoubleServer, address: str) -> Iterator[EwsTarget]:
    ews = EwsTarget(EwsSettings(url=server.url, username=ADMIN, password=Secret(ADMIN_PASSWORD),
                                authentication="Basic", impersonation=True, max_wait=10))
    ews.open_user(TargetMailbox(address))
    yield ews
    ews.close()


def message(n: int) -> OutgoingMessage:
    raw = f"Subject: m{n}\r\nMessage-ID: <m{n}@example.org>\r\n\r\nbody\r\n".encode()
    return OutgoingMessage(raw, ("\\Seen",), (), datetime(2020, 1, 2, tzinfo=UTC), f"key{n}")


def mailbox(server: EwsDoubleServer, address: str) -> Mailbox:
    return server.double.mailboxes[address]


def ids(server: EwsDoubleServer, address: str, path: tuple[str, ...]) -> set[str]:
    return {i.item_id for i in server.double.items(address, path)}


def test_rename_keeps_items_and_subfolders_and_is_idempotent(
        server: EwsDoubleServer, address: str, target: EwsTarget) -> None:
    target.ensure_folders([("Notes",), ("Notes", "Old")])
    stored = target.append_batch(("Notes",), [message(1), message(2)])
    before = {r.item_id for r in stored if isinstance(r, TargetRef)}

    assert target.rename_folder(("Notes",), ("Ideas",))
    assert mailbox(server, address).folder_at(("Notes",)) is None
    assert ids(server, address, ("Ideas",)) == before
    assert mailbox(server, address).folder_at(("Ideas", "Old")) is not None
    # resumed after a crash: already renamed
    assert target.rename_folder(("Notes",), ("Ideas",))
    appended = target.append_batch(("Ideas",), [message(3)])
    assert len(ids(server, address, ("Ideas",))) == 3 and isinstance(appended[0], TargetRef)


def test_rename_into_another_parent_moves_the_folder(
        server: EwsDoubleServer, address: str, target: EwsTarget) -> None:
    target.ensure_folders([("Projects", "Alpha"), ("INBOX",)])
    target.append_batch(("Projects", "Alpha"), [message(4)])
    folder = mailbox(server, address).folder_at(("Projects", "Alpha"))
    assert folder is not None

    assert target.rename_folder(("Projects", "Alpha"), ("Archive", "2019", "Alpha 1"))
    moved = mailbox(server, address).folder_at(("Archive", "2019", "Alpha 1"))
    assert moved is not None and moved.folder_id == folder.folder_id
    assert mailbox(server, address).folder_at(("Projects", "Alpha")) is None
    assert len(server.double.items(address, ("Archive", "2019", "Alpha 1"))) == 1

    assert target.rename_folder(("INBOX", "Sub"), ("INBOX", "Sub")) is True  # no change
    assert not target.rename_folder(("Projects",), ("INBOX",))
    assert not target.rename_folder(("Sent Items",), ("Sent",))
    assert not target.rename_folder(("Missing",), ("Found",))


def test_delete_folder_only_when_empty(server: EwsDoubleServer, address: str,
                                       target: EwsTarget) -> None:
    target.ensure_folders([("Full",), ("Parent", "Child"), ("Empty",)])
    target.append_batch(("Full",), [message(5)])

    assert not target.delete_folder_if_empty(("Full",))
    assert not target.delete_folder_if_empty(("Parent",))
    assert not target.delete_folder_if_empty(("INBOX",))
    assert not target.delete_folder_if_empty(("Deleted Items",))
    assert target.delete_folder_if_empty(("Empty",))
    assert target.delete_folder_if_empty(("Parent", "Child"))
    assert target.delete_folder_if_empty(("Never there",))
    box = mailbox(server, address)
    assert box.folder_at(("Empty",)) is None and box.folder_at(("Parent", "Child")) is None
    assert len(server.double.items(address, ("Full",))) == 1
    assert target.delete_folder_if_empty(("Parent",))  # its child is gone now
