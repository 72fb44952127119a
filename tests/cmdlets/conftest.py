"""The shell the cmdlet tests type into: a real session on a fresh state directory."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shell.session import Session
from shell.wiring import build_session
from tests.support.runners import stop_runners

CSV = ("EmailAddress,UserName,Password\nann@contoso.com,ann,Secr3tPw\n"
       "bob@contoso.com,bob*admin,Adm1nPw\n")


@dataclass
class Shell:
    session: Session
    out: io.StringIO
    err: io.StringIO
    tmp: Path

    def run(self, text: str) -> tuple[str, str]:
        """Run one statement; return what it wrote to stdout and stderr."""
        out_at, err_at = self.out.tell(), self.err.tell()
        self.session.run(text)
        return self.out.getvalue()[out_at:], self.err.getvalue()[err_at:]

    def ok(self, text: str) -> str:
        out, err = self.run(text)
        assert err == "", err
        return out


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    out, err = io.StringIO(), io.StringIO()
    session = build_session(str(tmp_path / "state"), interactive=False, stdout=out, stderr=err)
    (tmp_path / "users.csv").write_text(CSV, encoding="utf-8")
    try:
        yield Shell(session, out, err, tmp_path)
    finally:
        session.close()
        stop_runners(tmp_path / "state")  # Start-MigrationBatch launched one: not past the test


def credential(variable: str, user: str, password: str) -> str:
    """The line that puts a PSCredential into ``$variable``."""
    return (f"${variable} = New-Object System.Management.Automation.PSCredential('{user}', "
            f"(ConvertTo-SecureString '{password}' -AsPlainText -Force))")
