"""Exchange Online's throttling replies, as imapsync's FAQ and issues quote them, become a
transient error carrying the server's backoff hint (literal inputs)."""

from __future__ import annotations

import pytest

from engine.errors import PermanentError, TransientError
from engine.imap.connection import ThrottledError, backoff_hint, is_throttled, server_error
from engine.runner.scheduler import retry_delay


@pytest.mark.parametrize(("reply", "seconds"), [
    ("NO Request is throttled. Suggested Backoff Time: 300000 milliseconds", 300.0),
    ("NO Request is throttled. Suggested Backoff Time: ~300000 milliseconds", 300.0),
    ("NO [UNAVAILABLE] Request is throttled. Suggested Backoff Time: 1500 ms", 1.5),
    ("NO Server busy. Suggested Backoff Time: 45 seconds", 45.0),
    ("NO APPEND failed: Request is throttled.", None),
])
def test_a_throttled_reply_is_transient_with_its_hint(reply: str, seconds: float | None) -> None:
    assert is_throttled(reply)
    assert backoff_hint(reply) == seconds
    error = server_error("outlook.office365.com", "append", reply)
    assert isinstance(error, ThrottledError) and isinstance(error, TransientError)
    assert error.retry_after == seconds
    assert "throttling" in error.message


def test_the_runner_waits_at_least_as_long_as_the_server_asked() -> None:
    error = server_error("outlook.office365.com", "append",
                         "NO Request is throttled. Suggested Backoff Time: 300000 milliseconds")
    assert isinstance(error, ThrottledError)
    assert retry_delay(1, error.retry_after).total_seconds() == 300.0


def test_an_ordinary_refusal_is_not_throttling() -> None:
    reply = "NO [CANNOT] Message contains invalid header"
    assert not is_throttled(reply) and backoff_hint(reply) is None
    assert isinstance(server_error("h", "append", reply), PermanentError)
