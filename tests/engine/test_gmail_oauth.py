"""Service-account tokens per user from google-auth against the local token service's
JWT-bearer grant (engine/gmail_oauth.py, tests/support/token_service.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from engine.errors import PermanentError, ValidationError
from engine.gmail_oauth import gmail_login, gmail_provider, parse_service_account_key
from tests.support.token_service import (
    TokenService,
    google_service_account_key,
    start_token_service,
)


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenService]:
    service = start_token_service()
    mp = pytest.MonkeyPatch()
    mp.setenv("REQUESTS_CA_BUNDLE", str(service.ca_file))
    yield service
    mp.undo()
    service.stop()
    shutil.rmtree(service.dir, ignore_errors=True)


def test_each_user_gets_a_token_of_their_own_once_per_lifetime(tokens: TokenService) -> None:
    key = google_service_account_key(tokens, "imsh@proj-1.iam.gserviceaccount.com",
                                     "contoso.com")
    account = parse_service_account_key(key)
    ann = gmail_login(account, "ann@contoso.com")
    first = ann.password.reveal()
    assert ann.password.reveal() == first  # cached
    bob = gmail_login(account, "bob@contoso.com").password.reveal()
    assert bob != first
    issued = [t.tenant for t in tokens.issued_to(account.client_email)]
    assert issued == ["ann@contoso.com", "bob@contoso.com"]
    assert tokens.introspect(first)["email"] == "ann@contoso.com"
    assert ann.password.renew() != first  # a refused token is replaced by a fresh one
    assert ann.authcid == "ann@contoso.com" and ann.method == "xoauth2"
    assert "PRIVATE KEY" not in repr(ann) and "PRIVATE KEY" not in repr(account)


def test_a_user_outside_the_delegated_domain_fails_with_googles_reason(
    tokens: TokenService
) -> None:
    account = parse_service_account_key(google_service_account_key(
        tokens, "imsh@proj-2.iam.gserviceaccount.com", "contoso.com"))
    with pytest.raises(PermanentError) as caught:
        gmail_provider(account, "eve@fabrikam.com").token()
    assert caught.value.error_id == "GmailServiceAccountRefused"
    assert "Client is unauthorized to retrieve access tokens" in str(caught.value)
    assert "domain-wide delegation" in str(caught.value)


def test_a_file_that_is_not_a_service_account_key_is_refused() -> None:
    for data in (b"not json", b'{"type": "authorized_user", "client_id": "x"}',
                 b'{"type": "service_account", "client_email": "a@b"}'):
        with pytest.raises(ValidationError, match="service account's JSON key"):
            parse_service_account_key(data)


def test_a_gmail_endpoint_goes_to_gmail_unless_a_relay_is_named() -> None:
    from engine.errors import ValidationError
    from engine.gmail_endpoint import gmail_server
    from engine.model import IMAPSecurityMechanism as S
    assert gmail_server({}) == ("imap.gmail.com", 993, S.Ssl)
    assert gmail_server({"IMSH_GMAIL_IMAP": "relay.contoso.com"}) == ("relay.contoso.com", 993,
                                                                      S.Ssl)
    assert gmail_server({"IMSH_GMAIL_IMAP": "127.0.0.1:1143",
                         "IMSH_GMAIL_IMAP_SECURITY": "none"}) == ("127.0.0.1", 1143, S.NONE)
    assert gmail_server({"IMSH_GMAIL_IMAP": "[::1]:1993"}) == ("::1", 1993, S.Ssl)
    for bad in ({"IMSH_GMAIL_IMAP": "relay:imap"}, {"IMSH_GMAIL_IMAP_SECURITY": "Plain"}):
        with pytest.raises(ValidationError):
            gmail_server(bad)
