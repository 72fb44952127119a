"""Set-/Get-MigrationConfig's SMTP settings: validated, stored where notification mail reads
them (password sealed), shown without the password, and failed mail retried after a change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.model import IMAPSecurityMechanism
from engine.notify.schedule import notification_log
from engine.notify.settings import SmtpSettings, default_sender
from engine.secrets import Credential, Secret
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.config import ConfigChanges
from engine.service.smtp_config import SmtpChanges, SmtpLogin

PASSWORD = "Sm7p-pa55word!"
CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw\r\n"


def state_bytes(engine: Engine) -> bytes:
    """Every byte imsh keeps in the state directory (database, WAL, shared memory, key)."""
    root = engine.store.paths.root
    return b"".join(p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file())


def smtp(engine: Engine, **changes: object) -> None:
    engine.set_config(ConfigChanges(smtp=SmtpChanges(**changes)))  # type: ignore[arg-type]


def test_nothing_is_configured_on_a_fresh_state(engine: Engine) -> None:
    shown = engine.get_config().smtp
    assert (shown.server, shown.port, shown.security, shown.user_name, shown.has_password,
            shown.sender) == (None, 25, "None", None, False, default_sender())
    assert SmtpSettings.from_config(engine.store.config) is None


def test_settings_are_stored_where_notification_mail_reads_them(engine: Engine) -> None:
    smtp(engine, server=" smtp.contoso.com ", port=2525, security="tls",
         credentials=SmtpLogin("mailer", Secret(PASSWORD)), sender="migration@contoso.com")

    assert SmtpSettings.from_config(engine.store.config) == SmtpSettings(
        server="smtp.contoso.com", port=2525, security=IMAPSecurityMechanism.Tls,
        credentials=Credential("mailer", Secret(PASSWORD)),
        sender="migration@contoso.com")
    shown = engine.get_config().smtp
    assert (shown.server, shown.port, shown.security, shown.user_name, shown.has_password,
            shown.sender) == ("smtp.contoso.com", 2525, "Tls", "mailer", True,
                              "migration@contoso.com")
    assert PASSWORD not in repr(engine.get_config())
    assert PASSWORD.encode() not in state_bytes(engine)


def test_each_parameter_changes_only_its_own_setting(engine: Engine) -> None:
    smtp(engine, server="smtp.contoso.com", security="Ssl",
         credentials=SmtpLogin("mailer", Secret(PASSWORD)))
    assert engine.get_config().smtp.port == 465  # the default for Ssl
    smtp(engine, sender="ops@contoso.com")
    settings = SmtpSettings.from_config(engine.store.config)
    assert settings is not None
    assert (settings.server, settings.security, settings.sender) == (
        "smtp.contoso.com", IMAPSecurityMechanism.Ssl, "ops@contoso.com")
    assert settings.credentials == Credential("mailer", Secret(PASSWORD))

    smtp(engine, credentials=None)  # -SmtpCredentials $null: no login any more
    assert engine.get_config().smtp.user_name is None
    assert engine.store.config.get_secret("SmtpPassword") is None
    smtp(engine, server="")  # -SmtpServer '': no notification mail
    assert SmtpSettings.from_config(engine.store.config) is None


@pytest.mark.parametrize(("changes", "error_id"), [
    ({"port": 0}, "InvalidPort"),  # engine/limits.py: one port rule
    ({"port": 65536}, "InvalidPort"),
    ({"security": "StartTls"}, "InvalidEnumeratorName"),
    ({"sender": "not an address"}, "InvalidSmtpFrom"),
    ({"sender": "migration@"}, "InvalidSmtpFrom"),
    ({"server": "smtp contoso com"}, "InvalidSmtpServer"),
    ({"server": "smtp://smtp.contoso.com"}, "InvalidSmtpServer"),
    ({"credentials": SmtpLogin(" ", Secret("x"))}, "InvalidSmtpCredentials"),
])
def test_invalid_values_are_refused_and_nothing_changes(engine: Engine, changes: dict[str, object],
                                                        error_id: str) -> None:
    smtp(engine, server="smtp.contoso.com")
    with pytest.raises(ValidationError) as refused:
        smtp(engine, **{"server": "other.contoso.com", **changes})
    assert refused.value.error_id == error_id
    assert engine.get_config().smtp.server == "smtp.contoso.com"


def test_a_change_retries_waiting_mail_at_once(engine: Engine, source: str) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV,
                                  notification_emails=("admin@contoso.com",)))
    row = engine.store.batches.get("B1")
    later = datetime.now(UTC) + timedelta(hours=1)
    waiting = {"notifications": {"failures": 3, "retry_at": later.isoformat(),
                                 "last_error": "unreachable"}}
    engine.store.batches.update(replace(row, extra={**row.extra, **waiting}))
    engine.set_config(ConfigChanges(max_number_of_batches=10))  # not an SMTP setting
    assert notification_log(engine.store.batches.get("B1")).retry_at == later

    smtp(engine, server="smtp.contoso.com")

    log = notification_log(engine.store.batches.get("B1"))
    assert (log.retry_at, log.failures) == (None, 3)


def test_credentials_are_refused_without_an_encrypted_connection(engine: Engine) -> None:
    before = state_bytes(engine)
    with pytest.raises(ValidationError) as caught:
        smtp(engine, server="smtp.contoso.com",
             credentials=SmtpLogin("mailer", Secret(PASSWORD)))
    assert caught.value.error_id == "SmtpCredentialsNeedTls"
    assert SmtpSettings.from_config(engine.store.config) is None  # nothing was stored
    assert PASSWORD.encode() not in state_bytes(engine) and before
    smtp(engine, server="smtp.contoso.com", security="Tls",
         credentials=SmtpLogin("mailer", Secret(PASSWORD)))
    with pytest.raises(ValidationError, match="clear text"):
        smtp(engine, security="None")  # dropping TLS later is refused too
    assert engine.get_config().smtp.security == "Tls"
