"""Exchange recognised from what the server says (engine/targets/exchange.py), never asked.

The greetings and capability lists are real ones from outlook.office365.com, as quoted in
MailKit issues #1496 (2023), #2016 (2026) and #290 (Outlook.com, 2016); the others are the
test servers' own (reference/servers-cyrus-courier-pymap.md). Issue #2016 masked the 2026
greeting's session id and host blob; here they are filled in (a made-up id, a host name in the
same encoding as the 2023 one).
"""

from __future__ import annotations

import pytest

from engine.bytesize import byte_quantified_size
from engine.errors import ValidationError
from engine.folders import TargetNaming, target_raw_name
from engine.limits import (
    APPENDLIMIT_ORIGIN,
    DEFAULT_SIZE_ORIGIN,
    ENDPOINT_SIZE_ORIGIN,
    MAX_MESSAGE_SIZE_BYTES,
    MessageSizeLimit,
    message_size_limit,
    validate_max_message_size,
)
from engine.sync.target_names import Placement, distinct_targets
from engine.targets.exchange import (
    RESERVED_FOLDER_NAMES,
    ExchangeKind,
    append_limit,
    detect,
    exchange_roles,
)

EXO_2023 = (b"* OK The Microsoft Exchange IMAP4 service is ready. [RgBSADAAUAAyADgAMQBDAEEAMAAwAD"
            b"QAMQAuAEQARQBVAFAAMgA4ADEALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]")
EXO_2026 = (b"* OK Microsoft Exchange IMAP4 service ready. 0f7e2a91-4c1b-4e55-9a0e-2b7d1c9e8f11 "
            b"(tcpproxy/15.21.0406.000 BACKENDAUTHENTICATE) [TQBXADIAUABSADAANgBDAEEAMAAwADEAMgAu"
            b"AG4AYQBtAHAAcgBkADAANgAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]")


def caps(text: str) -> list[str]:
    return text.split()


EXO_AFTER_LOGIN = caps("IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT "
                       "CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE "
                       "CHILDREN IDLE NAMESPACE LITERAL+")
EXO_BEFORE_LOGIN = caps("IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT "
                        "CHILDREN IDLE NAMESPACE LITERAL+")
OUTLOOK_COM = b"* OK Outlook.com IMAP4rev1 server version 17.4.0.0 ready (BLU452-IMAP255)"
ON_PREMISES = b"* OK The Microsoft Exchange IMAP4 service is ready."
ON_PREMISES_CAPS = caps("IMAP4 IMAP4rev1 AUTH=NTLM AUTH=GSSAPI AUTH=PLAIN STARTTLS UIDPLUS "
                        "CHILDREN IDLE NAMESPACE LITERAL+")
DOVECOT = (b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+] "
           b"Dovecot ready.")
DOVECOT_CAPS = caps("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SPECIAL-USE LITERAL+ "
                    "UIDPLUS MULTIAPPEND")
CYRUS = (b"* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE AUTH=PLAIN AUTH=LOGIN SASL-IR] "
         b"cyrustest Cyrus IMAP 3.6.1-Debian-3.6.1-4+deb12u5 server ready")


@pytest.mark.parametrize(("greeting", "capabilities"), [
    (EXO_2023, EXO_AFTER_LOGIN),
    (EXO_2023, EXO_BEFORE_LOGIN),  # the host in the greeting is under outlook.com
    (EXO_2026, EXO_BEFORE_LOGIN),  # its front-end proxy names itself
    (OUTLOOK_COM, EXO_BEFORE_LOGIN),
    (DOVECOT, EXO_AFTER_LOGIN),  # a proxy rewrote the greeting: the capabilities still say it
    (b"* OK IMAP4 ready", EXO_AFTER_LOGIN),
])
def test_exchange_online_is_recognised_without_asking_the_admin(
        greeting: bytes, capabilities: list[str]) -> None:
    assert detect(greeting, capabilities) is ExchangeKind.ONLINE


def test_exchange_server_on_premises_is_exchange_but_not_online() -> None:
    assert detect(ON_PREMISES, ON_PREMISES_CAPS) is ExchangeKind.SERVER
    # a greeting blob that is no host name (or not base64 at all) is no evidence of the cloud
    assert detect(ON_PREMISES + b" [not-a-host-name]", ON_PREMISES_CAPS) is ExchangeKind.SERVER


@pytest.mark.parametrize(("greeting", "capabilities"), [
    (DOVECOT, DOVECOT_CAPS), (CYRUS, ON_PREMISES_CAPS), (b"", []), (None, ["IMAP4", "IMAP4rev1"]),
    (b"* OK Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.", ["IMAP4rev1"]),
])
def test_other_servers_are_not_taken_for_exchange(greeting: bytes | None,
                                                   capabilities: list[str]) -> None:
    assert detect(greeting, capabilities) is None


def test_appendlimit_is_read_when_the_server_announces_one_for_all_mailboxes() -> None:
    assert append_limit([*DOVECOT_CAPS, "APPENDLIMIT=10485760"]) == 10_485_760
    assert append_limit(["appendlimit=5"]) == 5
    assert append_limit([*DOVECOT_CAPS, "APPENDLIMIT"]) is None  # per mailbox: not read
    assert append_limit(EXO_AFTER_LOGIN) is None


def test_the_reserved_folder_name_files_is_stored_under_another_name() -> None:
    exchange = TargetNaming("/", reserved=RESERVED_FOLDER_NAMES)
    assert target_raw_name(("Files",), exchange) == "Files_"
    assert target_raw_name(("FILES", "2024"), exchange) == "FILES_/2024"  # any case
    assert target_raw_name(("Projects", "Files"), exchange) == "Projects/Files"  # top only
    assert target_raw_name(("Filesystem",), exchange) == "Filesystem"
    assert target_raw_name(("Files",), TargetNaming("/")) == "Files"  # other servers: as is


def test_a_source_folder_named_like_the_substitute_does_not_land_in_the_same_folder() -> None:
    exchange = TargetNaming("/", reserved=RESERVED_FOLDER_NAMES)
    placed = distinct_targets([Placement("Files", ("Files",), ("Files",)),
                               Placement("Files_", ("Files_",), ("Files_",))], exchange)
    assert target_raw_name(placed["Files"], exchange) == "Files_"
    assert target_raw_name(placed["Files_"], exchange) == "Files_ (2)"


def test_unmarked_role_folders_of_an_exchange_mailbox_are_found_by_exchanges_names() -> None:
    listed = [("INBOX",), ("Sent Items",), ("deleted items",), ("Junk E-mail",), ("Drafts",),
              ("Projects", "Sent Items")]
    assert exchange_roles({}, listed) == {
        "Sent": ("Sent Items",), "Trash": ("deleted items",), "Junk": ("Junk E-mail",),
        "Drafts": ("Drafts",)}  # no Archive folder: the usual name then, as elsewhere
    marked = {"Sent": ("Gesendete Elemente",)}  # what LIST marks wins
    assert exchange_roles(marked, listed)["Sent"] == ("Gesendete Elemente",)


def test_the_endpoint_limit_replaces_the_default_and_appendlimit_lowers_it() -> None:
    assert message_size_limit(MAX_MESSAGE_SIZE_BYTES) == MessageSizeLimit(
        MAX_MESSAGE_SIZE_BYTES, DEFAULT_SIZE_ORIGIN)
    raised = message_size_limit(MAX_MESSAGE_SIZE_BYTES, 150 << 20)
    assert raised == MessageSizeLimit(150 << 20, ENDPOINT_SIZE_ORIGIN)
    assert message_size_limit(MAX_MESSAGE_SIZE_BYTES, 150 << 20, 20 << 20) == MessageSizeLimit(
        20 << 20, APPENDLIMIT_ORIGIN)
    assert message_size_limit(MAX_MESSAGE_SIZE_BYTES, 10 << 20, 20 << 20) == MessageSizeLimit(
        10 << 20, ENDPOINT_SIZE_ORIGIN)
    assert message_size_limit(None) is None


def test_a_skipped_message_says_its_size_the_limit_and_how_to_raise_it() -> None:
    reason = MessageSizeLimit(MAX_MESSAGE_SIZE_BYTES, DEFAULT_SIZE_ORIGIN).reason(40 << 20)
    assert reason.startswith("The message is larger than the maximum message size: 40 MB "
                             "(41,943,040 bytes) is over 35 MB (36,700,160 bytes), Exchange "
                             "Online's default maximum message size.")
    assert "Set-Mailbox -MaxReceiveSize" in reason and "-MaxMessageSize" in reason
    huge = MessageSizeLimit(150 << 20, ENDPOINT_SIZE_ORIGIN).reason(200 << 20)
    assert "accepts no message over 150 MB" in huge
    server = MessageSizeLimit(1 << 20, APPENDLIMIT_ORIGIN).reason(1_500_000)
    assert "APPENDLIMIT" in server and "1.431 MB (1,500,000 bytes)" in server


def test_max_message_size_is_refused_outside_one_byte_to_150_mb() -> None:
    assert validate_max_message_size(150 << 20) == 150 << 20
    for bad in (0, -1, (150 << 20) + 1):
        with pytest.raises(ValidationError, match="150 MB"):
            validate_max_message_size(bad)
    assert byte_quantified_size(512) == "512 B (512 bytes)"
