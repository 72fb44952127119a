"""The corpus loaded into real servers reads back exactly as the Maildir writer wrote it.

This proves the loader (folder mapping to each server's prefix and separator, modified
UTF-7, flags, keywords, dates, 8-bit bytes) and the comparer's IMAP reader at once: the
Maildir side never touches a server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.compare import ImapSource, ImapSpec, MaildirSource, compare, main
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap, load_maildir
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(31, MIN_FULL_COUNT + 40)


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus as a Maildir (no server reads it, so pytest's 0700 tmp is fine)."""
    root = tmp_path_factory.mktemp("expected") / "Maildir"
    load_maildir(root, CORPUS)
    return root


def loaded_user(server: ImapServer) -> tuple[str, ImapSpec]:
    user = server.fresh_user()
    stats = load_imap(ImapParams(server.host, server.port, user, server.password), CORPUS)
    assert stats.messages == len(CORPUS)
    assert stats.folders[("Projects", "Alpha", "Specs")] == server.folder(
        "Projects", "Alpha", "Specs")
    return user, ImapSpec(server.host, server.port, user, server.password)


@pytest.mark.parametrize("kind", ["dovecot", "cyrus", "courier"])
def test_loaded_corpus_equals_maildir_copy(kind: str, expected: Path,
                                           request: pytest.FixtureRequest) -> None:
    server: ImapServer = request.getfixturevalue(kind)
    user, spec = loaded_user(server)
    source = ImapSource(spec)
    try:
        report = compare(source, MaildirSource(expected))
        roles = {f.special_use: f.path for f in source.folders() if f.special_use}
    finally:
        source.close()
    assert report.identical, report.format()
    if kind != "courier":  # Courier has no SPECIAL-USE
        assert roles.get("\\Sent") == ("Sent",) and roles.get("\\Junk") == ("Junk",)
    assert len(report.folders) == len(CORPUS.folders)

    # a flag changed on the server afterwards is seen by the comparer's IMAP reader
    client = server.login(user)
    client.select_folder("INBOX")
    first = min(client.search(["ALL"]))
    client.add_flags([first], ["\\Flagged", "$Planted"])
    client.logout()
    source = ImapSource(spec)
    try:
        inbox = compare(source, MaildirSource(expected)).folder("INBOX")
    finally:
        source.close()
    assert len(inbox.flags) == 1 and len(inbox.keywords) == 1
    assert "$Planted" in inbox.keywords[0][1]


def test_cli_compares_with_admin_logins(dovecot: ImapServer, cyrus: ImapServer) -> None:
    user, _spec = loaded_user(dovecot)
    other, _spec = loaded_user(dovecot)
    a = f"imap://{user}:{dovecot.admin_password}@{dovecot.host}:{dovecot.port}" \
        f"?login={user}*{dovecot.admin_user}"
    b = f"imap://{other}:{dovecot.password}@{dovecot.host}:{dovecot.port}"
    assert main([a, b]) == 0
    cyrus_user, _spec = loaded_user(cyrus)
    c = f"imap://{cyrus.admin_user}:{cyrus.admin_password}@{cyrus.host}:{cyrus.port}" \
        f"?authzid={cyrus_user}"
    assert main([a, c]) == 0
    assert main([a, f"imap://{user}:wrong@{dovecot.host}:{dovecot.port}"]) == 2
