"""An IMAP target that does not name its copies (no UIDPLUS, or the APPENDUID code dropped).

Before: the copy's reference was stored empty, the next pass took it for a copy gone from the
target and appended the message again whenever the folder was listed: one more full set per
pass. Now the copy is located after the append (UIDNEXT before, fingerprint after), and one
that cannot be named stays pending and is looked up, never appended twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, append, message, synced
from tests.support.imap_proxy import DropAppendUid, HideCapability, ImapProxy, Rule
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

MESSAGES = 13


def _rules(case: str) -> list[Rule]:
    if case == "no-uidplus":
        return [HideCapability(name="UIDPLUS"), DropAppendUid()]
    return [DropAppendUid()]  # UIDPLUS announced, the code lost on the way


def on_target(server: ImapServer, user: str, *criteria: str) -> int:
    """Messages of the target INBOX not flagged \\Deleted (without UIDPLUS imsh deletes by
    flag only: a plain EXPUNGE would take the user's own deleted messages with it)."""
    client = server.login(user)
    try:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["UNDELETED", *criteria]))
    finally:
        client.logout()


@pytest.mark.parametrize("case", ["no-uidplus", "appenduid-dropped"])
def test_target_without_appenduid_holds_each_message_once_over_passes(
        case: str, tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    append(dovecot, source_user, "INBOX", [message(n) for n in range(1, MESSAGES + 1)])
    source = dovecot.login(source_user)
    source.select_folder("INBOX")
    with ImapProxy(dovecot_target.host, dovecot_target.port) as proxy:
        rules = [proxy.add(rule) for rule in _rules(case)]
        migration = CliMigration(tmp_path, dovecot, source_user, dovecot.port, dovecot_target,
                                 target_user, proxy.port)
        started = migration.start()
        assert "batch: Synced" in started.stdout, started.text
        assert all(rule.hits for rule in rules)
        seen = [on_target(dovecot_target, target_user)]
        changes = [  # each pass, the source user does something to the folder
            lambda: source.add_flags("1:*", [b"\\Flagged"], silent=True),
            lambda: append(dovecot, source_user, "INBOX", [message(MESSAGES + 1)]),
            lambda: (source.delete_messages([1], silent=True), source.expunge()),
        ]
        for change in changes:
            change()
            status = migration.sync_now()
            assert synced(status), status.text
            seen.append(on_target(dovecot_target, target_user))
    source.logout()
    assert seen == [MESSAGES, MESSAGES, MESSAGES + 1, MESSAGES]
    assert on_target(dovecot_target, target_user, "FLAGGED") == MESSAGES - 1
    with migration.store() as store:
        user = store.users.get("ann@contoso.com")
        folder = store.folders.list(user.id)[0]
        refs = [m.target_ref for m in store.messages.list(folder.id) if m.state == "copied"]
    assert len(refs) == MESSAGES and all(refs)
