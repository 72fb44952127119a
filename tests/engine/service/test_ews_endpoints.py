"""EWS endpoints against the local EWS test double: verified on creation and change, stored
only when verification passes (or is skipped), tested by Test-MigrationServerAvailability,
OAuth client secrets sealed, and nothing but the given URL ever contacted (no autodiscover).

The double answers Basic authentication only; NTLM and OAuth sign-ins are not exercised here
(docs/ews.md, "How it was tested").
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import NotSupportedError, PermanentError, ValidationError
from engine.model import AuthenticationMethod, EndpointType
from engine.secrets import Credential, Secret
from engine.service import Engine
from engine.service.availability import TestResult
from engine.service.endpoints import EndpointChanges, EndpointRequest
from engine.targets.ews_connection import EwsSettings
from engine.targets.ews_settings import ews_settings_from_row
from tests.engine.service.conftest import snapshot
from tests.engine.service.ews_fixtures import (
    ADMIN,
    ADMIN_PASSWORD,
    contacted,
    ews_http,
    ews_https,
    hosts,
)
from tests.support.ews_double import EwsDoubleServer

__all__ = ["ews_http", "ews_https"]  # fixtures

CLIENT_SECRET = "0Auth~Cl1ent~Secret"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def ews(server: EwsDoubleServer, password: str = ADMIN_PASSWORD, **extra: object
        ) -> EndpointRequest:
    return EndpointRequest(name="Exchange", kind=EndpointType.EWS, url=server.url,
                           credentials=Credential(ADMIN, Secret(password)),
                           impersonation=True, accept_untrusted_certificates=server.https,
                           **extra)  # type: ignore[arg-type]


def oauth(**changes: object) -> EndpointRequest:
    request = EndpointRequest(name="Online", kind=EndpointType.EWS,
                              url="https://outlook.office365.com/EWS/Exchange.asmx",
                              authentication=AuthenticationMethod.OAuth,
                              tenant_id="contoso.onmicrosoft.com", client_id="app-id-1234",
                              client_secret=Secret(CLIENT_SECRET))
    return replace(request, **changes)  # type: ignore[arg-type]


def state_bytes(engine: Engine) -> bytes:
    files = sorted(Path(engine.store.paths.root).rglob("*"))
    return b"".join(path.read_bytes() for path in files if path.is_file())


def test_creation_signs_in_at_the_given_url_only(engine: Engine,
                                                 ews_https: EwsDoubleServer) -> None:
    since = len(ews_https.double.requests)
    with contacted() as events:
        info = engine.new_endpoint(ews(ews_https, authentication=AuthenticationMethod.Basic))
    assert (info.kind, info.url, info.user_name, info.has_password, info.impersonation,
            info.authentication, info.accept_untrusted_certificates) == (
        EndpointType.EWS, ews_https.url, ADMIN, True, True, "Basic", True)
    seen = ews_https.double.requests[since:]
    assert seen and {r.operation for r in seen} <= {"ConvertId"}
    assert hosts(events) == {"127.0.0.1"}  # no autodiscover host looked up or contacted


def test_without_authentication_the_server_is_asked(engine: Engine,
                                                    ews_https: EwsDoubleServer) -> None:
    info = engine.new_endpoint(ews(ews_https))
    assert info.authentication is None
    assert engine.test_endpoint("Exchange").result is TestResult.Success


def test_bad_credentials_fail_with_exchanges_text_and_store_nothing(
        engine: Engine, ews_https: EwsDoubleServer) -> None:
    before = snapshot(engine)
    with pytest.raises(PermanentError) as refused:
        engine.new_endpoint(ews(ews_https, password="not-the-password"))
    assert refused.value.error_id == "AuthenticationFailed"
    assert "(401) Unauthorized" in refused.value.message
    assert "not-the-password" not in refused.value.message
    assert snapshot(engine) == before


def test_an_untrusted_certificate_is_refused_unless_accepted(
        engine: Engine, ews_https: EwsDoubleServer) -> None:
    with pytest.raises(PermanentError) as refused:
        engine.new_endpoint(replace(ews(ews_https), accept_untrusted_certificates=False))
    assert refused.value.error_id == "CertificateNotTrusted"
    assert engine.identities("endpoint") == ["LocalMaildir"]


def test_skip_verification_stores_without_contacting_the_server(
        engine: Engine, ews_https: EwsDoubleServer) -> None:
    since = len(ews_https.double.requests)
    with contacted() as events:
        info = engine.new_endpoint(ews(ews_https, password="not-the-password",
                                       skip_verification=True))
    assert info.name == "Exchange"
    assert ews_https.double.requests[since:] == [] and events == []


def test_availability_is_success_warning_or_failed(engine: Engine, ews_https: EwsDoubleServer,
                                                   ews_http: EwsDoubleServer) -> None:
    engine.new_endpoint(ews(ews_https))
    result = engine.test_endpoint("Exchange")
    assert (result.result, result.error_detail) == (TestResult.Success, None)
    assert result.connection_settings.startswith(f"EWS {ews_https.url}")

    engine.set_endpoint("Exchange", EndpointChanges(
        credentials=Credential(ADMIN, Secret("changed-elsewhere")), skip_verification=True))
    failed = engine.test_endpoint("Exchange")
    assert failed.result is TestResult.Failed and "(401) Unauthorized" in failed.message
    assert failed.error_detail and failed.error_detail.startswith("AuthenticationFailed")

    engine.new_endpoint(replace(ews(ews_http), name="Plain"))
    warned = engine.test_endpoint("Plain")
    assert warned.result is TestResult.Warning and "not encrypted" in warned.message


def test_changes_are_verified_again_and_refused_ones_change_nothing(
        engine: Engine, ews_https: EwsDoubleServer, ews_http: EwsDoubleServer) -> None:
    engine.new_endpoint(ews(ews_https))
    before = snapshot(engine)
    with pytest.raises(PermanentError):
        engine.set_endpoint("Exchange", EndpointChanges(
            credentials=Credential(ADMIN, Secret("wrong"))))
    with pytest.raises(ValidationError, match="apply to IMAP endpoints only"):
        engine.set_endpoint("Exchange", EndpointChanges(port=443))
    assert snapshot(engine) == before

    since = len(ews_http.double.requests)
    changed = engine.set_endpoint("Exchange", EndpointChanges(
        url=ews_http.url, impersonation=False, accept_untrusted_certificates=False))
    assert (changed.url, changed.impersonation) == (ews_http.url, False)
    assert ews_http.double.requests[since:]  # the new URL was verified


def test_oauth_keeps_the_client_secret_sealed(engine: Engine) -> None:
    info = engine.new_endpoint(oauth(skip_verification=True))
    assert (info.authentication, info.tenant_id, info.client_id, info.user_name,
            info.has_password) == ("OAuth", "contoso.onmicrosoft.com", "app-id-1234", None, True)
    assert CLIENT_SECRET.encode() not in state_bytes(engine)
    assert CLIENT_SECRET not in repr(info)

    row = engine.store.endpoints.get("Online")
    assert ews_settings_from_row(row) == EwsSettings(
        url="https://outlook.office365.com/EWS/Exchange.asmx", authentication="OAuth",
        tenant_id="contoso.onmicrosoft.com", client_id="app-id-1234",
        client_secret=Secret(CLIENT_SECRET))


def test_basic_settings_map_to_the_target_settings(engine: Engine,
                                                   ews_https: EwsDoubleServer) -> None:
    engine.new_endpoint(ews(ews_https, authentication=AuthenticationMethod.Ntlm,
                            skip_verification=True))
    settings = ews_settings_from_row(engine.store.endpoints.get("Exchange"))
    assert settings == EwsSettings(url=ews_https.url, username=ADMIN,
                                   password=Secret(ADMIN_PASSWORD), authentication="Ntlm",
                                   impersonation=True, accept_untrusted=True)
    assert settings.auth_type == "NTLM"


@pytest.mark.parametrize(("request_", "error", "match"), [
    (oauth(client_secret=None), ValidationError, "needs -ClientSecret"),
    (oauth(tenant_id=None, client_id=None), ValidationError, "needs -TenantId, -ClientId"),
    (oauth(credentials=Credential("u", Secret("p"))), ValidationError,
     "-Credentials don't apply with -Authentication OAuth"),
    (replace(oauth(), authentication=None), ValidationError,
     "apply only with -Authentication OAuth"),
    (replace(oauth(), authentication=AuthenticationMethod.Digest), NotSupportedError,
     "not supported by imsh"),
    (replace(oauth(), url="mail.contoso.com"), ValidationError, "must be an http:// or https://"),
    (replace(oauth(), url=None), ValidationError, "needs -Url"),
])
def test_incomplete_or_inconsistent_settings_are_refused(
        engine: Engine, request_: EndpointRequest, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        engine.new_endpoint(replace(request_, skip_verification=True))
    assert engine.identities("endpoint") == ["LocalMaildir"]


def test_switching_to_oauth_needs_the_application_and_forgets_the_password(
        engine: Engine, ews_https: EwsDoubleServer) -> None:
    engine.new_endpoint(ews(ews_https, skip_verification=True))
    with pytest.raises(ValidationError, match="needs -TenantId, -ClientId, -ClientSecret"):
        engine.set_endpoint("Exchange", EndpointChanges(
            authentication=AuthenticationMethod.OAuth, skip_verification=True))
    changed = engine.set_endpoint("Exchange", EndpointChanges(
        authentication=AuthenticationMethod.OAuth, tenant_id="t", client_id="c",
        client_secret=Secret(CLIENT_SECRET), skip_verification=True))
    assert (changed.user_name, changed.client_id, changed.tenant_id) == (None, "c", "t")
    row = engine.store.endpoints.get("Exchange")
    assert row.password == Secret(CLIENT_SECRET)

    back = engine.set_endpoint("Exchange", EndpointChanges(
        authentication=AuthenticationMethod.Basic,
        credentials=Credential(ADMIN, Secret(ADMIN_PASSWORD))))
    assert (back.user_name, back.client_id, back.tenant_id) == (ADMIN, None, None)
    assert "tenant_id" not in engine.store.endpoints.get("Exchange").extra
