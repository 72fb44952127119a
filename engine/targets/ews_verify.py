"""Verifying an EWS endpoint: New-MigrationEndpoint -EWS and Test-MigrationServerAvailability.

:func:`verify_ews_endpoint` signs in to the endpoint the way the target will, but failing
fast (no throttling waits, a 401 is at once bad credentials): exchangelib's unauthenticated
probe when no authentication is configured, then an authenticated ``ConvertId`` that reads
the server version. With ``test_mailbox`` it also opens that mailbox's root folder, which
proves impersonation (or delegate) rights. It uses the URL as given: no autodiscover. It
raises the engine's errors (Exchange-style texts).

:func:`test_availability` never raises: it returns ``(result, message, detail)`` as
Test-MigrationServerAvailability reports them (``Success``, ``Warning`` for a plain-http URL
that would carry credentials unencrypted, ``Failed``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from exchangelib.protocol import Protocol

from engine.errors import ImshError
from engine.targets.ews_connection import (
    EwsSettings,
    configuration,
    connect,
    ews_errors,
    release,
)
from engine.targets.ews_settings import check_url

SUCCESS = "The connection to the server was successful."


def verify_ews_endpoint(settings: EwsSettings, test_mailbox: str | None = None) -> None:
    """Reach the endpoint and sign in; open ``test_mailbox`` when given. Raises ImshError."""
    check_url(settings.url)
    config = configuration(settings, patient=False)
    try:
        with ews_errors(settings, "sign in"):
            Protocol(config=config).version  # noqa: B018 - the property sends the requests
        if test_mailbox:
            account = connect(settings, test_mailbox, config=config)
            with ews_errors(settings, f"open the mailbox '{test_mailbox}'",
                            mailbox=test_mailbox):
                account.msg_folder_root  # noqa: B018 - one GetFolder proves access
    finally:
        release(config)


def test_availability(settings: EwsSettings,
                      test_mailbox: str | None = None) -> tuple[str, str, str | None]:
    """(Result, Message, ErrorDetail) for Test-MigrationServerAvailability -Endpoint."""
    try:
        verify_ews_endpoint(settings, test_mailbox)
    except ImshError as exc:
        return "Failed", exc.message, f"{exc.error_id} ({exc.category}): {exc.message}"
    if urlsplit(settings.url).scheme == "http":
        return ("Warning", f"The connection to the server '{settings.host}' is not encrypted; "
                "credentials would be sent in clear text. Use an https:// URL.", None)
    return "Success", SUCCESS, None


test_availability.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
