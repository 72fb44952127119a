"""An IMAP target that does not name its copies (no UIDPLUS, or the APPENDUID code dropped).

Before: the copy's reference was stored empty, the next pass took it for a copy gone from the
target and appended the message again: 13 messages became 26, 39, ... one more full set per
pass. Now the copy is located after the append (UIDNEXT before, fingerprint after), and one
that cannot be named stays pending and is looked up, never appended twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.imapio_support import CliMigration, append, count_messages, message, synced
from tests.support.imap_proxy import DropAppendUid, HideCapability, ImapProxy, Rule
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

MESSAGES = 13


def _rules(case: str) -> list[Rule]:
    if case == "no-uidplus":
        return [HideCapability(name="UIDPLUS"), DropAppendUid()]
    return [DropAppendUid()]  # UIDPLUS announced, the code lost on the way


@pytest.mark.parametrize("case", ["no-uidplus", "appenduid-dropped"])
def test_target_without_appenduid_holds_each_message_once_over_passes(
        case: str, tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    append(dovecot, source_user, "INBOX", [message(n) for n in range(1, MESSAGES + 1)])
    with ImapProxy(dovecot_target.host, dovecot_target.port) as proxy:
        rules = [proxy.add(rule) for rule in _rules(case)]
        migration = CliMigration(tmp_path, dovecot, source_user, dovecot.port, dovecot_target,
                                 target_user, proxy.port)
        started = migration.start()
        assert "batch: Synced" in started.stdout, started.text
        assert all(rule.hits for rule in rules)
        seen = [count_messages(dovecot_target, target_user)]
        for _ in range(2):
            status = migration.sync_now()
            assert synced(status), status.text
            seen.append(count_messages(dovecot_target, target_user))
    assert seen == [MESSAGES] * 3
    with migration.store() as store:
        user = store.users.get("ann@contoso.com")
        folder = store.folders.list(user.id)[0]
        refs = [m.target_ref for m in store.messages.list(folder.id)]
    assert len(refs) == MESSAGES and all(refs)
