"""Incremental passes in O(changes) against real Dovecot servers (engine/sync/incremental.py).

The source and the target are reached through loopback proxies (tests/support/imap_proxy.py)
that record every command line, so each test can say what the pass asked: only the new UIDs
and ``CHANGEDSINCE`` on a CONDSTORE source, ``UID SEARCH`` on the source only when the message
count does not add up (an expunge), on the target only when the plan deletes something, and
nothing at all on a pass where no counter moved. A UIDVALIDITY change and a source without
CONDSTORE (the capability hidden by the proxy) fall back to the whole listing. After every
pass the comparer (scripts/compare.py) finds source and target identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

import engine.imap.source as source_module
from engine.runner.jobs import OutcomeKind, SyncKind
from tests.integration.syncenv import SyncEnv
from tests.support.imap_proxy import Connection, HideCapability, ImapProxy, Rule
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

DATE = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def raw(n: int) -> bytes:
    return (b"From: Bob <bob@example.org>\r\nSubject: message %d\r\nMessage-ID: <c%d@example.org>"
            b"\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\n\r\nbody %d\r\n" % (n, n, n))


class Proxied:
    """One migration user whose source and target both go through a recording proxy."""

    def __init__(self, source: ImapServer, target: ImapServer) -> None:
        self.server = source
        self.user = source.fresh_user()
        client = source.login(self.user)
        try:
            client.create_folder("Archive")
            for n in range(1, 31):
                client.append("INBOX", raw(n), ["\\Seen"] if n % 2 else [], DATE)
            for n in range(31, 41):
                client.append("Archive", raw(n), ["\\Seen"], DATE)
        finally:
            client.logout()
        self.source_proxy = ImapProxy(source.host, source.port)
        self.target_proxy = ImapProxy(target.host, target.port)
        self.env = SyncEnv(replace(source, host=self.source_proxy.host,
                                   port=self.source_proxy.port),
                           self.user, replace(target, host=self.target_proxy.host,
                                              port=self.target_proxy.port),
                           target.fresh_user())

    def run(self, kind: SyncKind = SyncKind.incremental) -> None:
        self.source_proxy.commands.clear()
        self.target_proxy.commands.clear()
        outcome = self.env.run(kind)
        self.source_commands = list(self.source_proxy.commands)  # not the comparer's
        self.target_commands = list(self.target_proxy.commands)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        assert self.env.compare() is None

    def source_asked(self, folder: str) -> list[str]:
        """The commands the sync's first source session sent while ``folder`` was selected
        (the survey; the folder workers open sessions of their own)."""
        return by_folder(self.source_commands).get(folder, [])

    def target_asked(self) -> list[str]:
        return [line.decode("utf-8", "replace").upper() for line in self.target_commands]

    def close(self) -> None:
        self.source_proxy.close()
        self.target_proxy.close()
        self.env.cleanup()


def by_folder(commands: list[bytes]) -> dict[str, list[str]]:
    """Command lines grouped by the folder the last EXAMINE of their session opened
    (upper-cased; a session is told by its tag's letters)."""
    result: dict[str, list[str]] = {}
    current: dict[str, str] = {}
    for line in commands:
        text = line.decode("utf-8", "replace")
        words = text.split(" ", 2)
        session = words[0].rstrip("0123456789")
        if len(words) == 3 and words[1].upper() == "EXAMINE":
            current[session] = words[2].strip('"')
            continue
        if session in current:
            result.setdefault(current[session], []).append(text.upper())
    return result


def listed_whole(lines: list[str]) -> bool:
    """The full listing: every UID asked for with SEARCH, then SIZE and date of every UID
    from 1 on (the new mail alone starts at the recorded UIDNEXT)."""
    return any("SEARCH" in line for line in lines) and any(
        re.search(r"UID FETCH 1[:,\s].*RFC822\.SIZE", line) for line in lines)


@pytest.fixture
def pair(dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[Proxied]:
    made = Proxied(dovecot, dovecot_target)
    made.run(SyncKind.initial)
    yield made
    made.close()


def test_new_mail_and_flag_changes_are_read_alone_and_the_target_is_not_searched(
        pair: Proxied) -> None:
    client = pair.server.login(pair.user)
    try:
        client.select_folder("INBOX")
        client.add_flags([2, 4, 6], ["\\Flagged", "Work"])
        client.remove_flags([1], ["\\Seen"])
        client.append("INBOX", raw(100), ["\\Answered"], DATE)
        client.append("INBOX", raw(101), [], DATE)
    finally:
        client.logout()
    pair.run()
    inbox = pair.source_asked("INBOX")
    assert any("CHANGEDSINCE" in line for line in inbox), inbox
    assert any("31:32 (UID FLAGS RFC822.SIZE INTERNALDATE)" in line for line in inbox), inbox
    assert not any("SEARCH" in line for line in inbox), inbox  # the count adds up
    assert not any("FETCH" in line for line in pair.source_asked("Archive"))
    assert not any("SEARCH" in line for line in pair.target_asked()), pair.target_asked()


def test_an_expunge_is_found_by_the_count_and_only_then_is_the_target_searched(
        pair: Proxied) -> None:
    client = pair.server.login(pair.user)
    try:
        client.select_folder("INBOX")
        client.delete_messages([3, 7])
        client.expunge()
        client.append("INBOX", raw(102), [], DATE)
    finally:
        client.logout()
    pair.run()
    inbox = pair.source_asked("INBOX")
    assert any("CHANGEDSINCE" in line for line in inbox), inbox
    assert sum("SEARCH" in line for line in inbox) == 1, inbox  # UIDs only, no full listing
    assert not listed_whole(inbox), inbox
    assert any("SEARCH" in line for line in pair.target_asked())  # it deletes: look first
    with pair.env.open_store() as store:
        states = store.messages.count_by_state(pair.env.user_id)
    assert states.get("deleted") == 2, states


def test_a_pass_where_no_counter_moved_fetches_nothing(pair: Proxied) -> None:
    pair.run()
    for folder in ("INBOX", "Archive"):
        asked = pair.source_asked(folder)
        assert not any("FETCH" in line or "SEARCH" in line for line in asked), asked
    assert not any("SEARCH" in line or "FETCH" in line for line in pair.target_asked())


def examined(commands: list[bytes]) -> list[str]:
    """The folders the pass EXAMINEd, in order (every session)."""
    found = []
    for line in commands:
        words = line.decode("utf-8", "replace").split(" ", 2)
        if len(words) == 3 and words[1].upper() == "EXAMINE":
            found.append(words[2].strip('"'))
    return found


def list_status_asked(commands: list[bytes]) -> int:
    return sum(1 for line in commands
               if re.search(rb" LIST .* RETURN \(STATUS \(", line, re.IGNORECASE))


def test_a_pass_where_no_counter_moved_reads_them_in_one_list_and_examines_no_folder(
        pair: Proxied) -> None:
    pair.run()
    assert list_status_asked(pair.source_commands) == 1, pair.source_commands
    assert examined(pair.source_commands) == [], pair.source_commands


def test_only_the_folder_whose_counters_moved_is_examined(pair: Proxied) -> None:
    client = pair.server.login(pair.user)
    try:
        client.append("Archive", raw(105), [], DATE)
    finally:
        client.logout()
    pair.run()
    assert "INBOX" not in examined(pair.source_commands), pair.source_commands
    assert "Archive" in examined(pair.source_commands)
    with pair.env.open_store() as store:
        row = store.folders.get(pair.env.user_id, "Archive")
        copied = [m for m in store.messages.list(row.id) if m.state == "copied"]
    assert len(copied) == 11  # the new message, copied once


def test_a_source_without_list_status_examines_every_folder_and_still_fetches_nothing(
        pair: Proxied) -> None:
    pair.source_proxy.add(HideCapability(name="LIST-STATUS"))
    pair.run()
    assert list_status_asked(pair.source_commands) == 0
    assert sorted(set(examined(pair.source_commands))) == ["Archive", "INBOX"]
    for folder in ("INBOX", "Archive"):
        asked = pair.source_asked(folder)
        assert not any("FETCH" in line or "SEARCH" in line for line in asked), asked


@dataclass
class SpoilListStatus(Rule):
    """Asks for a STATUS item no server knows in the LIST-STATUS command: the server refuses it."""

    def rewrite_command(self, conn: Connection, line: bytes) -> bytes:
        if b"RETURN (STATUS (" in line.upper() and self._spend():
            return re.sub(rb"\(STATUS \(.*\)\)", b"(STATUS (NOSUCHITEM))", line)
        return line


def test_a_source_refusing_the_list_status_command_has_every_folder_examined(
        pair: Proxied) -> None:
    rule = pair.source_proxy.add(SpoilListStatus())
    client = pair.server.login(pair.user)
    try:
        client.append("Archive", raw(106), [], DATE)
    finally:
        client.logout()
    pair.run()  # the pass succeeds and the copy is identical
    assert rule.hits == 1
    assert sorted(set(examined(pair.source_commands))) == ["Archive", "INBOX"]


def test_a_uidvalidity_change_falls_back_to_the_whole_listing(pair: Proxied) -> None:
    client = pair.server.login(pair.user)
    try:
        client.delete_folder("Archive")  # re-created: a new UIDVALIDITY, the same messages
        client.create_folder("Archive")
        for n in range(31, 41):
            client.append("Archive", raw(n), ["\\Seen"], DATE)
        client.append("Archive", raw(103), [], DATE)
    finally:
        client.logout()
    pair.run()
    archive = pair.source_asked("Archive")
    assert listed_whole(archive), archive
    assert not any("CHANGEDSINCE" in line for line in archive), archive
    with pair.env.open_store() as store:
        row = store.folders.get(pair.env.user_id, "Archive")
        rows = [m for m in store.messages.list(row.id) if m.state == "copied"]
    assert len(rows) == 11  # re-matched by fingerprint, one new: nothing copied twice


def test_a_source_without_condstore_is_listed_whole(pair: Proxied) -> None:
    pair.source_proxy.add(HideCapability(name="CONDSTORE"))
    client = pair.server.login(pair.user)
    try:
        client.select_folder("INBOX")
        client.add_flags([5], ["\\Flagged"])
        client.append("INBOX", raw(104), [], DATE)
    finally:
        client.logout()
    pair.run()
    inbox = pair.source_asked("INBOX")
    assert listed_whole(inbox), inbox
    assert not any("CHANGEDSINCE" in line for line in inbox), inbox
    assert not any(b"ENABLE" in line.upper() for line in pair.source_commands)


def test_much_new_mail_is_asked_which_uids_it_holds_then_listed_by_window(
        pair: Proxied, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "LISTING_WINDOW", 3)  # 8 new UIDs: more than a window
    client = pair.server.login(pair.user)
    try:
        for n in range(200, 208):
            client.append("INBOX", raw(n), [], DATE)
    finally:
        client.logout()
    pair.run()
    inbox = pair.source_asked("INBOX")
    assert any("SEARCH RETURN (ALL) UID 31:38" in line for line in inbox), inbox
    assert sum("RFC822.SIZE" in line for line in inbox) == 3, inbox  # 3 + 3 + 2 UIDs
    assert not listed_whole(inbox), inbox
