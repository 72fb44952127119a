"""Into an Exchange-shaped target: Exchange's folder names, its reserved name, its size limits.

The target is the OAuth Dovecot (tests/adversity/oauth_support.py) with Exchange's own folders
(``SPECIAL_USE=exchange-unmarked``: Sent Items, Deleted Items, Junk Email, Drafts, Archive,
there from the first login and, here, without special-use attributes), behind the
Exchange-like proxy (tests/adversity/oauth_exo_proxy.py: Exchange's greeting, no MULTIAPPEND,
``\\Flagged`` forgotten at APPEND, and an APPENDLIMIT when told). imsh recognises Exchange from
that and asks the admin nothing. The source is a Dovecot whose Sent, Trash, Junk, Drafts and
Archive are marked ``\\Sent`` ``\\Trash`` ``\\Junk`` ``\\Drafts`` ``\\Archive``.

One admin's story, pass by pass, through the real ``imsh``: the first pass lands every
special-use folder in Exchange's folder, makes no second "Sent", stores the folder ``Files``
(reserved by Exchange) as ``Files_`` and skips the one message over the endpoint's
-MaxMessageSize with a reason that says so, while the user is Synced; a second pass copies
nothing; raising -MaxMessageSize tries the message again, and the server's APPENDLIMIT (lower)
skips it once more, with that reason; with the server's limit gone, approving the skipped items
copies it and the two mailboxes compare identical with the folder mapping applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from engine.bytesize import byte_quantified_size
from scripts.compare import FolderInfo, ImapSource, ImapSpec, MessageRecord, compare
from tests.adversity.oauth_exo_proxy import ExoProxy
from tests.adversity.oauth_support import add_domain_users, start_oauth_dovecot
from tests.adversity.test_oauth_exchange_online import (
    SECRET,
    TENANT,
    Admin,
    admin,  # noqa: F401  (fixture)
    new_app,
    no_secret_in_clear,
    tokens,  # noqa: F401  (fixture)
    wait_for,
)
from tests.conftest import start_or_skip
from tests.support.servers import ImapServer, start_dovecot
from tests.support.token_service import TokenService

pytestmark = [pytest.mark.servers, pytest.mark.slow]

BIG = 100 * 1024  # over the endpoint's 64 KB, under its raised 150 MB
# source folder -> Exchange's (the special-use ones by their role, Files by the reserved name)
EXCHANGE_NAME = {"Sent": "Sent Items", "Trash": "Deleted Items", "Junk": "Junk Email",
                 "Drafts": "Drafts", "Archive": "Archive", "Files": "Files_"}
SOURCE_FOLDERS = {"INBOX": 3, "Sent": 3, "Trash": 2, "Junk": 2, "Drafts": 2, "Archive": 2,
                  "Archive/2024": 1, "Files": 2, "Projects": 2}


@pytest.fixture(scope="module")
def exchange_target(tokens: TokenService) -> ImapServer:  # noqa: F811
    return start_or_skip(lambda: start_oauth_dovecot(
        tokens, nusers=0, extra_env={"SPECIAL_USE": "exchange-unmarked"}))


@pytest.fixture(scope="module")
def marked_source() -> ImapServer:
    return start_or_skip(lambda: start_dovecot(nusers=1, special_use="archive"))


def message(folder: str, n: int, size: int = 0) -> bytes:
    body = (b"x" * 76 + b"\r\n") * (size // 78 + 1) if size else b"hello\r\n"
    return (f"From: ann@fabrikam.test\r\nTo: bob@contoso.test\r\nSubject: {folder} {n}\r\n"
            f"Message-ID: <{folder.replace('/', '.')}.{n}@fabrikam.test>\r\n"
            "Date: Tue, 03 Mar 2020 10:00:00 +0000\r\n\r\n").encode() + body


def fill_source(server: ImapServer, user: str) -> None:
    client = server.login(user)
    try:
        roles = {name.decode() if isinstance(name, bytes) else name: flags
                 for flags, _sep, name in client.list_folders()}
        for folder, count in SOURCE_FOLDERS.items():
            if folder not in roles:
                client.create_folder(folder)
            for n in range(count):
                flags = [b"\\Draft"] if folder == "Drafts" else [b"\\Seen"]
                client.append(folder, message(folder, n), flags,
                              datetime(2020, 3, 3, 10, n, tzinfo=UTC))
        client.append("INBOX", message("INBOX", 99, BIG), [b"\\Flagged"],
                      datetime(2020, 3, 4, tzinfo=UTC))
        marked = {name.decode() if isinstance(name, bytes) else name: {bytes(f) for f in flags}
                  for flags, _sep, name in client.list_folders()}
    finally:
        client.logout()
    for role in ("Sent", "Trash", "Junk", "Drafts", "Archive"):  # the source says what it is
        assert b"\\" + role.encode() in marked[role], marked


def target_folders(server: ImapServer, user: str) -> set[str]:
    client = server.login(user)
    try:
        return {name.decode() if isinstance(name, bytes) else name
                for flags, _sep, name in client.list_folders() if b"\\Noselect" not in flags}
    finally:
        client.logout()


class Renamed:
    """A compared mailbox whose folders are shown under the source's names."""

    def __init__(self, inner: ImapSource, names: dict[str, str]) -> None:
        self.inner = inner
        self.description = inner.description
        self.names = {tuple(v.split("/")): tuple(k.split("/")) for k, v in names.items()}

    def folders(self) -> list[FolderInfo]:
        return [replace(f, path=self._path(f.path)) for f in self.inner.folders()]

    def _path(self, path: tuple[str, ...]) -> tuple[str, ...]:
        for size in range(len(path), 0, -1):
            if path[:size] in self.names:
                return self.names[path[:size]] + path[size:]
        return path

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        return self.inner.messages(folder)


def difference(source: ImapSpec, target: ImapSpec) -> str | None:
    left, right = ImapSource(source), ImapSource(target)
    try:
        report = compare(left, Renamed(right, EXCHANGE_NAME))
    finally:
        left.close()
        right.close()
    return None if report.identical else report.format()


def test_into_exchange_folders_names_and_limits_pass_by_pass(
    admin: Admin, tokens: TokenService, exchange_target: ImapServer,  # noqa: F811
    marked_source: ImapServer,
) -> None:
    proxy = ExoProxy(exchange_target.host, exchange_target.port, exchange=True)
    try:
        client_id = new_app(tokens)
        target = add_domain_users(exchange_target, 1)[0]
        source = marked_source.users[0]
        fill_source(marked_source, source)
        csv = admin.work / "users.csv"
        csv.write_text(f"EmailAddress,UserName,Password\n{target},{source},"
                       f"{marked_source.password}\n")
        proxy.append_limit = 1 << 20  # above the endpoint's 64 KB: the endpoint's limit holds
        out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {marked_source.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port {proxy.port} -Security None -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force) -Authority {tokens.authority} -TestMailbox {target} -MaxMessageSize 64KB | Format-List MaxMessageSize
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
$s = Get-MigrationUserStatistics -Identity {target} -IncludeSkippedItems
Write-Output "skipped: $($s.SkippedItemCount)"
$s.SkippedItems | ForEach-Object {{ Write-Output "item: $($_.Kind) $($_.Subject): $($_.Failure)" }}
""")  # noqa: E501
        assert "MaxMessageSize : 64 KB (65,536 bytes)" in out, out
        assert "initial: Synced" in out, out
        assert "skipped: 1" in out, out
        item = next(line for line in out.splitlines() if line.startswith("item: "))
        assert "LargeItem INBOX 99" in item, item
        assert "64 KB (65,536 bytes), the target endpoint's MaxMessageSize" in item, item
        admin.wait_for_no_runner()

        # every special-use folder in Exchange's own, Files under another name, no duplicates
        assert target_folders(exchange_target, target) == {
            "INBOX", "Sent Items", "Deleted Items", "Junk Email", "Drafts", "Archive",
            "Archive/2024", "Files_", "Projects"}
        before = difference(ImapSpec(marked_source.host, marked_source.port, source,
                                     marked_source.password),
                            ImapSpec(exchange_target.host, exchange_target.port, target,
                                     exchange_target.password))
        assert before is not None and "INBOX" in before  # only the skipped message is missing
        assert before.count("missing") <= 2, before

        # a second pass copies nothing
        appends = len(proxy.append_times)
        assert appends >= 1
        second = pass_after(admin, "Set-MigrationBatch -Identity B1 -SyncNow")
        assert second
        assert len(proxy.append_times) == appends, "a second pass appended again"

        # the tenant raised the limit: the message is tried again; the server's own APPENDLIMIT
        # is lower, so it is skipped once more, with that reason, and the user stays Synced
        proxy.append_limit = 80 * 1024
        out = run_pass(admin, "Set-MigrationEndpoint -Identity EXO -MaxMessageSize 150MB")
        assert "skipped: 1" in out, out
        assert "the target server's APPENDLIMIT" in out and "80 KB (81,920 bytes)" in out, out
        assert len(proxy.append_times) == appends  # not offered to a server that can't take it

        # the server's limit gone and the skipped items approved: copied, identical
        proxy.append_limit = None
        out = run_pass(admin, "Set-MigrationBatch -Identity B1 -ApproveSkippedItems")
        assert "skipped: 0" in out, out
        assert len(proxy.append_times) == appends + 1  # that one message, nothing else
        admin.wait_for_no_runner()
        assert admin.statuses()[target][0] in ("Synced", "IncrementalSynced")
        after = difference(ImapSpec(marked_source.host, marked_source.port, source,
                                    marked_source.password),
                           ImapSpec(exchange_target.host, exchange_target.port, target,
                                    exchange_target.password))
        assert after is None, after
        no_secret_in_clear(admin, out)
    finally:
        proxy.close()


def test_a_message_the_server_refuses_as_too_big_is_a_large_item_not_retried(
    admin: Admin, tokens: TokenService, exchange_target: ImapServer,  # noqa: F811
    dovecot: ImapServer,
) -> None:
    # a limit the server does not announce (Exchange Online announces no APPENDLIMIT): it
    # refuses the APPEND itself. Before, that was a "bad item" with the server's bare text.
    proxy = ExoProxy(exchange_target.host, exchange_target.port, exchange=True)
    proxy.refuse_over = 64 * 1024
    try:
        client_id = new_app(tokens)
        target = add_domain_users(exchange_target, 1)[0]
        source = dovecot.fresh_user()
        client = dovecot.login(source)
        try:
            for n in range(3):
                client.append("INBOX", message("INBOX", n), [b"\\Seen"])
            client.append("INBOX", message("INBOX", 99, BIG), [])
        finally:
            client.logout()
        csv = admin.work / "users.csv"
        csv.write_text(f"EmailAddress,UserName,Password\n{target},{source},{dovecot.password}\n")
        out = admin.imsh(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name EXO -RemoteServer 127.0.0.1 -Port {proxy.port} -Security None -Authentication OAuth -TenantId {TENANT} -ClientId {client_id} -ClientSecret (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force) -Authority {tokens.authority} -TestMailbox {target} -MaxMessageSize 150MB | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint EXO -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
        assert "initial: Synced" in out, out
        assert proxy.refused == 1
        out = run_pass(admin, "Write-Output 'again'")
        assert proxy.refused == 1, "the refused message was offered again"
        assert "skipped: 1" in out, out
        size = byte_quantified_size(len(message("INBOX", 99, BIG)))
        assert "item: LargeItem INBOX 99: The message is larger than the target server " \
               f"accepts: {size}. The server said: [TOOBIG]" in out, out
    finally:
        proxy.close()


def pass_after(who: Admin, command: str) -> datetime:
    """Run ``command`` and wait until a pass after it ended well; its end."""
    asked = datetime.now(UTC)
    who.imsh(command)

    def synced() -> bool:
        with who.store() as store:
            [user] = store.users.list()
            return (user.last_successful_sync_at or asked) > asked
    wait_for(synced, 90, f"a pass after {command}")
    with who.store() as store:
        [user] = store.users.list()
        assert user.last_successful_sync_at is not None
        return user.last_successful_sync_at


def run_pass(who: Admin, command: str) -> str:
    """``command``, then -SyncNow, and the user's skipped items once that pass is over."""
    who.imsh(command)
    pass_after(who, "Set-MigrationBatch -Identity B1 -SyncNow")
    return who.imsh("""$s = Get-MigrationUserStatistics -Identity (Get-MigrationUser).Identity -IncludeSkippedItems
Write-Output "skipped: $($s.SkippedItemCount)"
$s.SkippedItems | ForEach-Object { Write-Output "item: $($_.Kind) $($_.Subject): $($_.Failure)" }
""")  # noqa: E501


