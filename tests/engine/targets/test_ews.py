"""The EWS target against the local EWS test double (tests/support/ews_double).

The double checks every request's shape against the EWS schema; the autouse fixture fails a
test that caused a violation. Each test works in a mailbox of its own.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import exchangelib
import pytest

from engine.errors import PermanentError, TransientError
from engine.imap.connection import SimpleLogin
from engine.secrets import Secret
from engine.targets.base import Lookup, OutgoingMessage, Rejected, TargetMailbox, TargetRef
from engine.targets.ews import EwsTarget
from engine.targets.ews_connection import EwsBusyError, EwsSettings
from engine.targets.ews_items import SOURCE_KEY_NAME, SOURCE_KEY_SET
from engine.targets.ews_verify import test_availability, verify_ews_endpoint
from tests.support.ews_double import EWS_PATH, EwsDouble, EwsDoubleServer

ADMIN, ADMIN_PASSWORD = "admin", "s3cret-admin"
_numbers = itertools.count(1)


def _double() -> EwsDouble:
    return EwsDouble(users={ADMIN: ADMIN_PASSWORD, "bob": "bobpw",
                            "carol@example.org": "carolpw"},
                     impersonators={ADMIN})


@pytest.fixture(scope="module")
def server() -> Iterator[EwsDoubleServer]:
    with EwsDoubleServer(_double()) as running:
        yield running
    exchangelib.close_connections()


@pytest.fixture(autouse=True)
def no_violations(server: EwsDoubleServer) -> Iterator[None]:
    before = len(server.double.violations)
    yield
    server.double._throttle = None
    server.double._reject = None
    assert server.double.violations[before:] == []


@pytest.fixture
def address(server: EwsDoubleServer) -> str:
    name = f"user{next(_numbers)}@example.org"
    server.double.add_mailbox(name)
    return name


def settings_for(url: str, **changes: object) -> EwsSettings:
    base = EwsSettings(url=url, username=ADMIN, password=Secret(ADMIN_PASSWORD),
                       authentication="Basic", impersonation=True, max_wait=30)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def target(server: EwsDoubleServer, address: str) -> Iterator[EwsTarget]:
    ews = EwsTarget(settings_for(server.url))
    ews.open_user(TargetMailbox(address))
    yield ews
    ews.close()


def message(n: int, *, flags: tuple[str, ...] = (), keywords: tuple[str, ...] = (),
            extra: bytes = b"", size: int = 0) -> OutgoingMessage:
    raw = (f"From: a@example.org\r\nTo: b@example.org\r\nSubject: message {n}\r\n"
           f"Message-ID: <m{n}@example.org>\r\n").encode() + extra + b"\r\n" + (
        b"body line\r\n" + b"x" * size + b"\r\n")
    when = datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2))) + timedelta(
        minutes=n)
    return OutgoingMessage(raw, flags, keywords, when, f"src|INBOX|7|{n}")


def ops(server: EwsDoubleServer, since: int, name: str) -> int:
    return sum(r.operation == name for r in server.double.requests[since:])


# --- folders -------------------------------------------------------------------------------------

def test_ensure_folders_builds_the_hierarchy_and_uses_well_known_folders(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    paths = [("INBOX",), ("INBOX", "Projects"), ("Sent Items",), ("Drafts",),
             ("Deleted Items",), ("Junk Email",), ("Archive", "2019")]
    result = target.ensure_folders(paths)

    assert sorted(result.created) == [("Archive",), ("Archive", "2019"), ("INBOX", "Projects")]
    assert set(result.existing) == {("INBOX",), ("Sent Items",), ("Drafts",),
                                    ("Deleted Items",), ("Junk Email",)}
    mailbox = server.double.mailboxes[address]
    inbox = mailbox.folders[mailbox.by_distinguished["inbox"]]
    assert [f.name for f in mailbox.children(inbox.folder_id)] == ["Projects"]
    archive = mailbox.folder_at(("Archive",))
    assert archive is not None and archive.parent_id == mailbox.by_distinguished["msgfolderroot"]
    year = mailbox.folder_at(("Archive", "2019"))
    assert year is not None and year.folder_class == "IPF.Note"
    top_names = [f.name for f in mailbox.children(mailbox.by_distinguished["msgfolderroot"])]
    assert top_names.count("Inbox") == 1 and "INBOX" not in top_names

    since = len(server.double.requests)
    again = EwsTarget(settings_for(server.url))
    again.open_user(TargetMailbox(address))
    assert sorted(again.ensure_folders(paths).existing) == sorted([*paths, ("Archive",)])
    assert ops(server, since, "CreateFolder") == 0


def test_special_use_roles_map_to_exchange_well_known_names() -> None:
    naming = EwsTarget(settings_for("http://127.0.0.1:1/EWS/Exchange.asmx")).naming
    assert [naming.role_path(r) for r in ("Sent", "Drafts", "Trash", "Junk", "Archive")] == [
        ("Sent Items",), ("Drafts",), ("Deleted Items",), ("Junk Email",), ("Archive",)]


# --- append --------------------------------------------------------------------------------------

def test_append_stores_exact_mime_as_received_items_with_state(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    batch = [
        message(1, flags=("\\Seen",), keywords=("Work", "$MDNSent", "$Forwarded")),
        message(2, flags=("\\Flagged", "\\Answered")),
        message(3, flags=("\\Draft", "\\Seen")),
        message(4, extra=b"X-Priority: 1 (Highest)\r\nSensitivity: Private\r\n"),
    ]
    refs = target.append_batch(("INBOX",), batch)

    assert all(isinstance(r, TargetRef) for r in refs)
    assert [r.dropped_keywords for r in refs if isinstance(r, TargetRef)] == [
        ("$MDNSent",), (), (), ()]
    stored = {i.item_id: i for i in server.double.items(address, ("Inbox",))}
    items = [stored[r.item_id] for r in refs if isinstance(r, TargetRef) and r.item_id]
    assert [i.mime for i in items] == [m.raw for m in batch]
    assert [i.is_read for i in items] == [True, False, True, False]
    assert [i.is_draft for i in items] == [False, False, True, False]
    assert [i.message_flags for i in items] == [0x3, 0x2, 0x9, 0x2]
    assert [i.flag_status for i in items] == [None, 2, None, None]
    assert [i.last_verb for i in items] == [104, 102, None, None]
    assert [i.categories for i in items] == [["Work"], [], [], []]
    assert [i.delivery_time for i in items] == [m.internaldate for m in batch]
    assert items[0].delivery_time == datetime(2021, 3, 4, 3, 7, 7, tzinfo=UTC)
    assert (items[3].importance, items[3].sensitivity) == ("High", "Private")
    assert [i.named(SOURCE_KEY_SET, SOURCE_KEY_NAME) for i in items] == [
        m.source_key for m in batch]


def test_batches_are_bounded_by_bytes(server: EwsDoubleServer, address: str) -> None:
    ews = EwsTarget(settings_for(server.url), batch_bytes=1300)
    ews.open_user(TargetMailbox(address))
    batch = [message(n, size=450) for n in range(5)]  # about 600 bytes each: 2 per request
    since = len(server.double.requests)
    refs = ews.append_batch(("INBOX",), batch)

    assert ops(server, since, "CreateItem") == 3
    stored = {i.item_id: i.mime for i in server.double.items(address, ("Inbox",))}
    assert [stored[r.item_id] for r in refs if isinstance(r, TargetRef) and r.item_id] == [
        m.raw for m in batch]


def test_a_rejected_item_is_reported_in_its_place_and_the_others_are_stored(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    server.double.reject_items_containing(b"X-Refuse-Me: yes")
    batch = [message(1), message(2, extra=b"X-Refuse-Me: yes\r\n"), message(3)]
    results = target.append_batch(("INBOX",), batch)

    assert isinstance(results[0], TargetRef) and isinstance(results[2], TargetRef)
    assert isinstance(results[1], Rejected)
    assert results[1].permanent and "ErrorItemSave" in results[1].reason
    assert len(server.double.items(address, ("Inbox",))) == 2


# --- resume, flags, delete -----------------------------------------------------------------------

def test_find_existing_after_a_crash_finds_the_copy_by_source_key(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    batch = [message(n) for n in range(3)]
    refs = target.append_batch(("INBOX",), batch)  # then "crash": the refs are lost

    resumed = EwsTarget(settings_for(server.url))
    resumed.open_user(TargetMailbox(address))
    found = [resumed.find_existing(("INBOX",), Lookup(source_key=m.source_key)) for m in batch]
    assert [f.item_id if f else None for f in found] == [
        r.item_id for r in refs if isinstance(r, TargetRef)]
    pending = [m for m, f in zip(batch, found, strict=True) if f is None]
    resumed.append_batch(("INBOX",), pending)
    assert len(server.double.items(address, ("Inbox",))) == 3

    claimed = frozenset(f.item_id for f in found if f and f.item_id)
    assert resumed.find_existing(("INBOX",), Lookup(source_key=batch[0].source_key,
                                                    exclude_ids=claimed)) is None
    assert resumed.find_existing(("INBOX",), Lookup(source_key="src|INBOX|7|999")) is None
    first = refs[0]
    assert isinstance(first, TargetRef)
    assert resumed.find_existing(("INBOX",), Lookup(item_id=first.item_id)) == first


def test_change_flags_updates_read_state_flag_and_categories(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    ref = target.append_batch(("INBOX",), [message(1)])[0]
    assert isinstance(ref, TargetRef)

    updated = target.change_flags(("INBOX",), ref, ["\\Seen", "\\Flagged", "Blue", "$Junk"], [])
    (item,) = server.double.items(address, ("Inbox",))
    assert (item.is_read, item.flag_status, item.categories) == (True, 2, ["Blue"])
    assert updated.dropped_keywords == ("$Junk",)
    assert item.message_flags == 0x2  # fixed at creation: still a received item

    target.change_flags(("INBOX",), ref, [], ["\\Seen", "\\Flagged", "Blue"])
    assert (item.is_read, item.flag_status, item.categories) == (False, None, [])


def test_delete_soft_deletes_only_the_given_items(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    refs = [r for r in target.append_batch(("INBOX",), [message(1), message(2)])
            if isinstance(r, TargetRef)]
    target.delete(("INBOX",), [refs[0]])
    target.delete(("INBOX",), [refs[0]])  # already gone: fine

    remaining = server.double.items(address, ("Inbox",))
    assert [i.item_id for i in remaining] == [refs[1].item_id]
    assert [i.item_id for i in server.double.mailboxes[address].recoverable] == [refs[0].item_id]
    assert b'DeleteType="SoftDelete"' in next(
        r.body for r in reversed(server.double.requests) if r.operation == "DeleteItem")
    with pytest.raises(PermanentError) as missing:
        target.change_flags(("INBOX",), refs[0], ["\\Seen"], [])
    assert missing.value.error_id == "MessageNotFound"


# --- throttling ----------------------------------------------------------------------------------

def test_server_busy_back_off_is_honoured_then_the_batch_succeeds(
        server: EwsDoubleServer, target: EwsTarget, address: str) -> None:
    server.double.throttle(times=2, back_off_ms=400, operations={"CreateItem"})
    since = len(server.double.requests)
    started = time.monotonic()
    refs = target.append_batch(("INBOX",), [message(1)])

    creates = [r.at for r in server.double.requests[since:] if r.operation == "CreateItem"]
    assert len(creates) == 3
    assert creates[1] - creates[0] >= 0.39 and creates[2] - creates[1] >= 0.39
    assert time.monotonic() - started < 5
    assert isinstance(refs[0], TargetRef)
    assert len(server.double.items(address, ("Inbox",))) == 1


def test_throttling_beyond_the_wait_budget_is_a_transient_error_with_the_hint(
        server: EwsDoubleServer, address: str) -> None:
    ews = EwsTarget(settings_for(server.url, max_wait=1.0))
    ews.open_user(TargetMailbox(address))
    server.double.throttle(times=10, back_off_ms=600, operations={"CreateItem"})
    started = time.monotonic()
    with pytest.raises(EwsBusyError) as busy:
        ews.append_batch(("INBOX",), [message(1)])

    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 1.0  # one 0.6 s wait fits the 1 s budget, a second does not
    assert isinstance(busy.value, TransientError)
    assert busy.value.retry_after == pytest.approx(0.6)
    assert "busy" in busy.value.message and busy.value.error_id == "ServerBusy"
    assert server.double.items(address, ("Inbox",)) == []


# --- sign-in, access, TLS, autodiscover ----------------------------------------------------------

def test_bad_credentials_are_a_permanent_error_with_an_exchange_style_text(
        server: EwsDoubleServer, address: str) -> None:
    wrong = settings_for(server.url, password=Secret("not-the-password"))
    started = time.monotonic()
    with pytest.raises(PermanentError) as failed:
        EwsTarget(wrong).open_user(TargetMailbox(address))
    assert time.monotonic() - started < 5  # not retried as throttling
    error = failed.value
    assert error.error_id == "AuthenticationFailed" and error.category == "AuthenticationError"
    assert "(401) Unauthorized" in error.message and "not-the-password" not in error.message

    with pytest.raises(PermanentError) as verified:
        verify_ews_endpoint(replace(wrong, authentication=None))  # probed auth type
    assert verified.value.error_id == "AuthenticationFailed"
    result, text, detail = test_availability(wrong)
    assert result == "Failed" and "(401) Unauthorized" in text and detail is not None


def test_verification_and_availability(server: EwsDoubleServer, address: str) -> None:
    good = settings_for(server.url)
    verify_ews_endpoint(good, test_mailbox=address)
    assert test_availability(good)[0] == "Warning"  # plain http carries the password
    with pytest.raises(PermanentError) as missing:
        verify_ews_endpoint(good, test_mailbox="nobody@example.org")
    assert missing.value.error_id == "MailboxNotFound"


def test_impersonation_header_and_its_refusal(server: EwsDoubleServer, address: str) -> None:
    since = len(server.double.requests)
    EwsTarget(settings_for(server.url)).open_user(TargetMailbox(address))
    bodies = [r.body for r in server.double.requests[since:] if r.operation == "GetFolder"]
    assert bodies and all(b"ExchangeImpersonation" in b and address.encode() in b
                          for b in bodies)

    not_allowed = settings_for(server.url, username="bob", password=Secret("bobpw"))
    with pytest.raises(PermanentError) as denied:
        EwsTarget(not_allowed).open_user(TargetMailbox(address))
    assert denied.value.error_id == "MailboxAccessDenied"


def test_per_user_target_credentials_open_the_mailbox_as_that_user(
        server: EwsDoubleServer) -> None:
    server.double.add_mailbox("carol@example.org")
    since = len(server.double.requests)
    ews = EwsTarget(settings_for(server.url))
    ews.open_user(TargetMailbox("carol@example.org",
                                SimpleLogin("carol@example.org", Secret("carolpw"))))
    ews.append_batch(("INBOX",), [message(1)])
    mine = server.double.requests[since:]
    assert all(b"ExchangeImpersonation" not in r.body for r in mine)
    assert len(server.double.items("carol@example.org", ("Inbox",))) == 1


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_verified_unless_untrusted_certificates_are_accepted() -> None:
    double = _double()
    double.add_mailbox("dave@example.org")
    with EwsDoubleServer(double, https=True) as tls:
        strict = settings_for(tls.url)
        with pytest.raises(PermanentError) as refused:
            verify_ews_endpoint(strict)
        assert refused.value.error_id == "CertificateNotTrusted"

        lenient = replace(strict, accept_untrusted=True)
        verify_ews_endpoint(lenient)
        assert test_availability(lenient)[0] == "Success"
        ews = EwsTarget(lenient)
        ews.open_user(TargetMailbox("dave@example.org"))
        ews.append_batch(("INBOX",), [message(1)])
        assert len(double.items("dave@example.org", ("Inbox",))) == 1

        with pytest.raises(PermanentError) as still_refused:  # no shared, lenient protocol
            EwsTarget(strict).open_user(TargetMailbox("dave@example.org"))
        assert still_refused.value.error_id == "CertificateNotTrusted"
    assert double.violations == []


def test_no_autodiscover_request_is_ever_made(server: EwsDoubleServer, target: EwsTarget,
                                              address: str) -> None:
    target.ensure_folders([("INBOX",), ("Archive",)])
    target.append_batch(("Archive",), [message(1)])
    paths = {r.path for r in server.double.requests}
    assert paths == {EWS_PATH}
    assert {r.operation for r in server.double.requests} <= {
        "ConvertId", "GetFolder", "FindFolder", "CreateFolder", "CreateItem", "FindItem",
        "GetItem", "UpdateItem", "DeleteItem"}
