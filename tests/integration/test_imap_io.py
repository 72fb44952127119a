"""The mail I/O layer against real servers: Dovecot, Cyrus and Courier as sources, Dovecot
(and Cyrus) as IMAP targets, plus the Maildir target fed from IMAP.

Fidelity is judged by the referee (scripts/compare.py): same folders, bytes, flags, keywords
and INTERNALDATE instants. The copy loop here is a minimal stand-in for the executor.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import PermanentError, TransientError
from engine.folders import INBOX, SourceFolderName, map_folders
from engine.imap.connection import ImapSettings, SimpleLogin, open_session
from engine.imap.source import ImapSource
from engine.model import IMAPSecurityMechanism
from engine.targets.base import (
    Lookup,
    OutgoingMessage,
    Rejected,
    Target,
    TargetMailbox,
    TargetRef,
)
from engine.targets.imap import ImapTarget
from engine.targets.maildir import MaildirTarget
from scripts import compare, corpus
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

SEED = 7


def settings(server: ImapServer, **kw: object) -> ImapSettings:
    return ImapSettings(server.host, server.port, IMAPSecurityMechanism.NONE, timeout=30, **kw)  # type: ignore[arg-type]


def admin_plan(server: ImapServer, user: str) -> SimpleLogin:
    assert server.admin_user and server.admin_password
    return SimpleLogin(server.admin_user, server.admin_password, user, "authenticate-plain")


def user_plan(server: ImapServer, user: str) -> SimpleLogin:
    return SimpleLogin(user, server.password)


def loaded_user(server: ImapServer) -> str:
    user = server.fresh_user()
    client = server.login(user)
    try:
        corpus.load_imap(client, corpus.generate(SEED, corpus.MIN_FULL_COUNT))
    finally:
        client.logout()
    return user


def imap_target(server: ImapServer, **kw: object) -> ImapTarget:
    assert server.admin_user and server.admin_password
    return ImapTarget(settings(server), SimpleLogin(server.admin_user, server.admin_password),
                      **kw)  # type: ignore[arg-type]


def copy_mailbox(source: ImapSource, target: Target, batch: int = 25) -> list[TargetRef]:
    """What the executor will do, minus the store: map, create up front, stream, append."""
    folders = source.list_folders()
    mapping = map_folders([SourceFolderName(f.path, f.role) for f in folders], target.naming)
    target.ensure_folders(list(mapping.values()))
    refs: list[TargetRef] = []
    for folder in (f for f in folders if f.selectable):
        listing = {m.uid: m for m in source.listing(folder)}
        pending: list[OutgoingMessage] = []
        for uid, raw in source.fetch_bodies(list(listing), max_batch_bytes=256 * 1024):
            m = listing[uid]
            pending.append(OutgoingMessage(raw, m.flags, m.keywords, m.internaldate,
                                           f"{folder.name}/{uid}"))
            if len(pending) == batch:
                refs += _append(target, mapping[folder.path], pending)
                pending = []
        refs += _append(target, mapping[folder.path], pending)
    return refs


def _append(target: Target, folder: tuple[str, ...], messages: list[OutgoingMessage]
            ) -> list[TargetRef]:
    results = target.append_batch(folder, messages)
    assert len(results) == len(messages)
    assert all(isinstance(r, TargetRef) for r in results), results
    return [r for r in results if isinstance(r, TargetRef)]


def referee(server: ImapServer, user: str) -> compare.ImapSource:
    if server.admin_user and server.admin_password:
        spec = compare.ImapSpec(server.host, server.port, server.admin_user,
                                server.admin_password, authzid=user)
    else:
        spec = compare.ImapSpec(server.host, server.port, user, server.password)
    return compare.ImapSource(spec)


def assert_identical(a: compare.MailboxSource, b: compare.MailboxSource) -> None:
    report = compare.compare(a, b)
    a.close()
    b.close()
    assert report.identical, report.format()


@pytest.fixture(scope="module")
def dovecot_user(dovecot: ImapServer) -> str:
    return loaded_user(dovecot)


@pytest.fixture
def dovecot_source(dovecot: ImapServer, dovecot_user: str) -> Iterator[ImapSource]:
    source = ImapSource.open(settings(dovecot), admin_plan(dovecot, dovecot_user))
    yield source
    source.close()


# --- source ----------------------------------------------------------------------------------

def test_source_lists_logical_folders_with_roles(dovecot_source: ImapSource) -> None:
    folders = {f.path: f for f in dovecot_source.list_folders()}
    expected = {f.path for f in corpus.FOLDERS}
    assert expected <= set(folders)
    assert dovecot_source.list_folders()[0].path == INBOX
    assert folders[("Sent",)].role == "Sent" and folders[("Junk",)].role == "Junk"
    assert folders[("日本語", "メモ")].name == "&ZeVnLIqe-/&MOEw4g-"


def test_source_listing_and_bodies_leave_the_source_unchanged(
        dovecot_source: ImapSource) -> None:
    status = dovecot_source.select("INBOX")
    assert status.uidvalidity > 0 and status.exists > 0 and status.highestmodseq is not None
    listing = dovecot_source.listing("INBOX")
    assert len(listing) == status.exists
    assert all(m.internaldate.tzinfo is not None and m.fingerprint for m in listing)
    unseen = [m.uid for m in listing if "\\Seen" not in m.flags]
    assert unseen
    bodies = dict(dovecot_source.fetch_bodies([m.uid for m in listing], max_batch_bytes=50_000))
    assert [len(bodies[m.uid]) for m in listing] == [m.size for m in listing]
    again = {m.uid: m for m in dovecot_source.listing("INBOX")}
    assert all("\\Seen" not in again[uid].flags for uid in unseen)
    assert list(dovecot_source.fetch_bodies([999_999])) == []


def test_incremental_listing_skips_known_headers(dovecot_source: ImapSource) -> None:
    full = dovecot_source.listing("INBOX")
    cut = full[len(full) // 2].uid
    partial = dovecot_source.listing("INBOX", fingerprints_from_uid=cut)
    assert [m.uid for m in partial] == [m.uid for m in full]
    assert all((m.fingerprint is None) == (m.uid < cut) for m in partial)


@pytest.mark.parametrize("kind", ["cyrus", "courier"])
def test_other_servers_as_source(kind: str, request: pytest.FixtureRequest,
                                 dovecot_target: ImapServer) -> None:
    server: ImapServer = request.getfixturevalue(kind)
    user = loaded_user(server)
    plan = admin_plan(server, user) if server.admin_user else user_plan(server, user)
    source = ImapSource.open(settings(server), plan)
    paths = [f.path for f in source.list_folders()]
    assert paths[0] == INBOX and ("Archive", "2019") in paths
    assert not any(p[0].upper().startswith("INBOX") and len(p) > 1 for p in paths)
    if kind == "courier":
        assert source.select("INBOX").highestmodseq is None
    target_user = dovecot_target.fresh_user()
    target = imap_target(dovecot_target)
    target.open_user(TargetMailbox(target_user))
    copy_mailbox(source, target)
    source.close()
    target.close()
    assert_identical(referee(server, user), referee(dovecot_target, target_user))


# --- IMAP target -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["multiappend", "literal-plus", "sequential"])
def test_dovecot_to_dovecot_is_identical(mode: str, dovecot: ImapServer, dovecot_user: str,
                                         dovecot_source: ImapSource,
                                         dovecot_target: ImapServer) -> None:
    target_user = dovecot_target.fresh_user()
    target = imap_target(dovecot_target, append_mode=mode, window=8)
    target.open_user(TargetMailbox(target_user))
    refs = copy_mailbox(dovecot_source, target)
    assert refs and all(r.item_id and r.dropped_keywords == () for r in refs)
    assert len({r.item_id for r in refs if r.folder == INBOX}) == len(
        [r for r in refs if r.folder == INBOX])
    target.close()
    assert_identical(referee(dovecot, dovecot_user), referee(dovecot_target, target_user))


def test_master_user_login_and_cyrus_target(dovecot: ImapServer, dovecot_user: str,
                                            dovecot_source: ImapSource, cyrus: ImapServer
                                            ) -> None:
    target_user = cyrus.fresh_user()
    target = imap_target(cyrus)
    target.open_user(TargetMailbox(target_user))
    assert target.naming.prefix == "INBOX." and target.naming.separator == "."
    copy_mailbox(dovecot_source, target)
    target.close()
    assert_identical(referee(dovecot, dovecot_user), referee(cyrus, target_user))


def test_resume_finds_pending_messages_on_the_target(dovecot_source: ImapSource,
                                                     dovecot_target: ImapServer) -> None:
    target_user = dovecot_target.fresh_user()
    target = imap_target(dovecot_target, proxy="master-user")
    target.open_user(TargetMailbox(target_user))
    target.ensure_folders([INBOX])
    listing = dovecot_source.listing("INBOX")[:6]
    mark = target.mark(INBOX)
    bodies = dict(dovecot_source.fetch_bodies([m.uid for m in listing]))
    first = [OutgoingMessage(bodies[m.uid], m.flags, m.keywords, m.internaldate)
             for m in listing[:4]]
    refs = target.append_batch(INBOX, first)
    target.close()  # "crash": nothing of the append was recorded

    resumed = imap_target(dovecot_target, proxy="master-user")
    resumed.open_user(TargetMailbox(target_user))
    claimed: set[str] = set()
    for m, ref in zip(listing[:4], refs, strict=True):
        found = resumed.find_existing(INBOX, Lookup(fingerprint=m.fingerprint, mark=mark,
                                                    exclude_ids=frozenset(claimed)))
        assert found is not None and isinstance(ref, TargetRef) and found.item_id == ref.item_id
        claimed.add(found.item_id or "")
    for m in listing[4:]:
        assert resumed.find_existing(INBOX, Lookup(fingerprint=m.fingerprint, mark=mark)) is None
    assert isinstance(refs[0], TargetRef)
    assert resumed.find_existing(INBOX, Lookup(item_id=refs[0].item_id)) == TargetRef(
        INBOX, refs[0].item_id)
    resumed.close()


def test_append_batches_ask_the_folder_state_once_and_marks_stay_below_the_copies(
        dovecot_target: ImapServer) -> None:
    """One STATUS for the folder's first mark; later marks come from APPENDUID, and every mark
    is at or below the UIDs the next batch gets, also when another client appended between."""
    target_user = dovecot_target.fresh_user()
    target = imap_target(dovecot_target)
    target.open_user(TargetMailbox(target_user))
    client = target.session.client
    asked: list[object] = []
    status = client.folder_status

    def counted(*args: object, **kw: object) -> object:
        asked.append(args)
        return status(*args, **kw)  # type: ignore[arg-type]

    client.folder_status = counted  # type: ignore[method-assign]
    other = dovecot_target.login(target_user)

    def batch(n: int) -> list[OutgoingMessage]:
        return [OutgoingMessage(f"Subject: {n}.{i}\r\nMessage-ID: <{n}.{i}@x>\r\n\r\nb\r\n"
                                .encode(), (), (), None) for i in range(3)]

    for n in range(4):
        mark = target.mark(INBOX)
        assert mark is not None
        refs = target.append_batch(INBOX, batch(n))
        uids = [int((r.item_id or "").split(":")[1]) for r in refs if isinstance(r, TargetRef)]
        assert len(uids) == 3 and min(uids) >= int(mark.split(":")[1])
        if n == 1:  # someone else writes into the folder between two batches
            other.append("INBOX", b"Subject: theirs\r\n\r\nx\r\n")
    other.logout()
    assert len(asked) == 1
    target.close()


def test_change_flags_and_delete(dovecot_target: ImapServer) -> None:
    target_user = dovecot_target.fresh_user()
    target = imap_target(dovecot_target)
    target.open_user(TargetMailbox(target_user))
    raw = b"Subject: x\r\nMessage-ID: <f@x>\r\n\r\nbody\r\n"
    when = datetime(1960, 1, 1, tzinfo=UTC)  # before 1970: clamped, not refused
    refs = target.append_batch(INBOX, [OutgoingMessage(raw, ("\\Seen",), ("Work",), when),
                                       OutgoingMessage(raw, (), (), None)])
    first, second = refs
    assert isinstance(first, TargetRef) and isinstance(second, TargetRef)
    target.change_flags(INBOX, first, ["\\Flagged", "$Label1"], ["\\Seen", "Work"])
    target.delete(INBOX, [second])
    client = dovecot_target.login(target_user)
    client.select_folder("INBOX")
    client.normalise_times = False
    rows = client.fetch(client.search("ALL"), ["FLAGS", "INTERNALDATE"])
    client.logout()
    assert len(rows) == 1
    [row] = rows.values()
    assert set(row[b"FLAGS"]) == {b"\\Flagged", b"$Label1"}
    assert row[b"INTERNALDATE"].astimezone(UTC) == datetime(1970, 1, 2, tzinfo=UTC)
    target.close()


# --- Maildir target fed from IMAP ------------------------------------------------------------

def test_dovecot_to_maildir_is_identical(dovecot: ImapServer, dovecot_user: str,
                                         dovecot_source: ImapSource, tmp_path: Path) -> None:
    target = MaildirTarget(tmp_path, fsync=False)
    target.open_user(TargetMailbox("Someone@Example.com"))
    copy_mailbox(dovecot_source, target)
    assert_identical(referee(dovecot, dovecot_user),
                     compare.MaildirSource(tmp_path / "someone@example.com"))


# --- connection errors -----------------------------------------------------------------------

def test_bad_password_is_permanent_with_exchange_text(dovecot: ImapServer) -> None:
    with pytest.raises(PermanentError, match="trouble signing in") as info:
        open_session(settings(dovecot), SimpleLogin(dovecot.users[0], "wrong"))
    assert info.value.error_id == "AuthenticationFailed"


def test_refused_connection_is_transient() -> None:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="could not be completed"):
        open_session(ImapSettings("127.0.0.1", port, IMAPSecurityMechanism.NONE, timeout=5),
                     SimpleLogin("u", "p"))


def test_certificates_are_verified_unless_untrusted_is_accepted(dovecot_tls: ImapServer
                                                                ) -> None:
    assert dovecot_tls.tls_port and dovecot_tls.cafile
    user = dovecot_tls.users[0]
    base = ImapSettings(dovecot_tls.host, dovecot_tls.tls_port, IMAPSecurityMechanism.Ssl,
                        timeout=10)
    with pytest.raises(PermanentError, match="AcceptUntrustedCertificates"):
        open_session(base, user_plan(dovecot_tls, user))
    for trusted in (ImapSettings(dovecot_tls.host, dovecot_tls.tls_port, IMAPSecurityMechanism.Ssl,
                                 cafile=str(dovecot_tls.cafile), timeout=10),
                    ImapSettings(dovecot_tls.host, dovecot_tls.tls_port, IMAPSecurityMechanism.Ssl,
                                 accept_untrusted=True, timeout=10),
                    ImapSettings(dovecot_tls.host, dovecot_tls.port, IMAPSecurityMechanism.Tls,
                                 cafile=str(dovecot_tls.cafile), timeout=10)):
        session = open_session(trusted, user_plan(dovecot_tls, user))
        assert session.separator == "/"
        session.close()


def test_keywords_a_folder_does_not_allow_are_reported() -> None:
    from engine.targets.imap import _Selected

    target = ImapTarget(ImapSettings("127.0.0.1", 1, IMAPSecurityMechanism.NONE))
    limited = _Selected("INBOX", 1, any_keyword=False, keywords=frozenset({"$Forwarded"}))
    message = OutgoingMessage(b"Subject: x\nX: y\n\nbody\n", ("\\Seen", "\\Recent"),
                              ("$Forwarded", "Work", "bad word"), None)
    prepared = target._prepare(message, limited)
    assert prepared.flag_list == b"\\Seen $Forwarded"
    assert prepared.dropped == ("Work", "bad word")
    assert prepared.literal == b"Subject: x\r\nX: y\r\n\r\nbody\r\n"
    open_folder = _Selected("INBOX", 1, any_keyword=True, keywords=frozenset())
    assert target._prepare(message, open_folder).dropped == ("bad word",)


@pytest.mark.parametrize("mode", ["multiappend", "literal-plus"])
def test_one_refused_message_does_not_sink_its_batch(mode: str, cyrus: ImapServer) -> None:
    target = imap_target(cyrus, append_mode=mode)
    target.open_user(TargetMailbox(cyrus.fresh_user()))
    good = b"Subject: a\r\n\r\nbody\r\n"
    results = target.append_batch(INBOX, [OutgoingMessage(good),
                                          OutgoingMessage(b"Subject: b\r\n\r\nNUL\0\r\n"),
                                          OutgoingMessage(good, ("\\Seen",))])
    target.close()
    assert [type(r).__name__ for r in results] == ["TargetRef", "Rejected", "TargetRef"]
    assert isinstance(results[1], Rejected) and "NUL" in results[1].reason
    assert isinstance(results[2], TargetRef) and results[2].item_id
