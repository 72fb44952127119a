"""engine/oauth.py's pure parts, with literal inputs: the authority setting, the AADSTS reason
shown to the admin, the per-process provider, and a masked bearer token."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.errors import PermanentError, TransientError, ValidationError
from engine.oauth import (
    PUBLIC_CLOUD,
    OAuthApp,
    TokenProvider,
    app_of,
    bearer_login,
    normalise_authority,
    provider_for,
)
from engine.secrets import Secret


@pytest.mark.parametrize(("given", "expected"), [
    (None, PUBLIC_CLOUD), ("", PUBLIC_CLOUD), ("login.microsoftonline.us",
                                               "https://login.microsoftonline.us"),
    ("https://login.partner.microsoftonline.cn/", "https://login.partner.microsoftonline.cn"),
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
])
def test_the_authority_is_an_https_host(given: str | None, expected: str) -> None:
    assert normalise_authority(given) == expected


@pytest.mark.parametrize("given", ["http://login.microsoftonline.com",
                                   "https://login.microsoftonline.com/contoso", "https://"])
def test_an_authority_with_a_path_or_without_tls_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="must be an https:// address"):
        normalise_authority(given)


APP = OAuthApp("tenant-1", "app-1", Secret("s3cret"), authority="https://login.example")


def test_a_refused_credential_is_permanent_and_keeps_only_the_reason() -> None:
    provider = TokenProvider(APP)
    with pytest.raises(PermanentError) as caught:
        provider._token_of({"error": "invalid_client", "error_description":
                            "AADSTS7000215: Invalid client secret provided. Trace ID: 1 "
                            "Correlation ID: 2 Timestamp: 2026-12-01 10:00:00Z"})
    message = caught.value.message
    assert message.startswith("The application 'app-1' couldn't sign in to the tenant "
                              "'tenant-1': AADSTS7000215: Invalid client secret provided.")
    assert "Trace ID" not in message and "s3cret" not in message
    assert caught.value.error_id == "OAuthClientRefused"


def test_a_busy_identity_platform_is_transient() -> None:
    with pytest.raises(TransientError):
        TokenProvider(APP)._token_of({"error": "temporarily_unavailable",
                                      "error_description": "AADSTS50196: loop detected"})


def test_one_provider_per_app_per_process() -> None:
    same = OAuthApp("tenant-1", "app-1", Secret("s3cret"), authority="https://login.example")
    other = OAuthApp("tenant-1", "app-1", Secret("rotated"), authority="https://login.example")
    assert provider_for(APP) is provider_for(same)
    assert provider_for(APP) is not provider_for(other)


def test_a_bearer_login_never_shows_its_token() -> None:
    login = bearer_login(APP, "ann@contoso.com")
    assert login.method == "xoauth2" and login.authcid == "ann@contoso.com"
    assert "s3cret" not in repr(login)


def test_an_endpoint_row_without_its_tenant_is_refused() -> None:
    row = SimpleNamespace(name="EXO", username="app-1", password=Secret("x"), extra={})
    with pytest.raises(PermanentError, match="lacks its -TenantId"):
        app_of(row)
    row.extra = {"tenant_id": "t", "authority": "https://login.microsoftonline.us"}
    assert app_of(row).authority_url == "https://login.microsoftonline.us/t"
