"""Login plans never show a password in their repr (tracebacks, logs and reports use it)."""

from __future__ import annotations

from engine.adminlogin import plan_login
from engine.imap.connection import SimpleLogin


def test_simple_login_with_a_plain_password_hides_it() -> None:
    login = SimpleLogin("admin", "hunter2-plain", "user@example.org", "authenticate-plain")
    assert "hunter2-plain" not in repr(login)
    assert "admin" in repr(login)


def test_planned_login_hides_the_revealed_password() -> None:
    assert "s3cr3t-pw" not in repr(plan_login("user*admin", "s3cr3t-pw"))
