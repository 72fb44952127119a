"""The SMTP password never goes over an unencrypted connection, even if settings say so."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from engine.errors import PermanentError
from engine.model import IMAPSecurityMechanism
from engine.notify.settings import SmtpSettings
from engine.notify.smtp import send_message
from engine.secrets import Credential, Secret
from tests.support.smtp import SmtpSink


@pytest.mark.servers
def test_login_on_a_plain_connection_is_refused_and_nothing_is_sent(smtp_sink: SmtpSink) -> None:
    settings = SmtpSettings(server=smtp_sink.host, port=smtp_sink.port,
                            security=IMAPSecurityMechanism.NONE,
                            credentials=Credential("mailer", Secret("s3cret-pw")),
                            sender="imsh@example.org")
    message = EmailMessage()
    message["To"], message["Subject"] = "admin@example.org", "plain-login-probe"
    message.set_content("x")
    before = len(smtp_sink.messages)
    with pytest.raises(PermanentError) as caught:
        send_message(settings, message)
    assert caught.value.error_id == "SmtpCredentialsNeedTls"
    assert "s3cret-pw" not in caught.value.message
    assert len(smtp_sink.messages) == before
