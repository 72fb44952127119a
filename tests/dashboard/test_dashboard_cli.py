"""``imsh dashboard``'s command line: what it accepts, and what it says when it cannot start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shell.dashboard.server import ListenError, is_loopback, parse_listen
from shell.main import UsageError, parse_command_line
from tests.dashboard.support import imsh_argv, imsh_env


def test_dashboard_listens_on_loopback_unless_told_otherwise() -> None:
    inv = parse_command_line(["--state", "/s", "dashboard"])
    assert inv.dashboard and inv.listen is None and inv.state == "/s"
    assert parse_command_line(["dashboard", "--listen", "0.0.0.0:9000"]).listen == "0.0.0.0:9000"
    assert parse_command_line(["dashboard", "--listen=[::1]:9000"]).listen == "[::1]:9000"
    with pytest.raises(UsageError, match="unknown dashboard option --port"):
        parse_command_line(["dashboard", "--port", "1"])


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:8470", ("127.0.0.1", 8470)), ("[::1]:8470", ("::1", 8470)),
    (":8471", ("127.0.0.1", 8471)), ("0.0.0.0:80", ("0.0.0.0", 80)),
])
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8470", "host:", "host:0", "host:70000", "host:http"])
def test_a_bad_listen_address_is_refused(text: str) -> None:
    with pytest.raises(ListenError, match="HOST:PORT"):
        parse_listen(text)


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert not is_loopback("mail.contoso.com")


def test_a_dashboard_over_no_state_says_so_and_creates_nothing(tmp_path: Path) -> None:
    state = tmp_path / "nothing-here"
    result = subprocess.run([*imsh_argv(), "--state", str(state), "dashboard"],
                            env=imsh_env(), capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 1
    assert "no migration state" in result.stderr and "Traceback" not in result.stderr
    assert not state.exists()


def test_a_bad_listen_address_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run([*imsh_argv(), "--state", str(tmp_path), "dashboard", "--listen",
                             "everywhere"], env=imsh_env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert "--listen needs HOST:PORT" in result.stderr and "Traceback" not in result.stderr


def test_dashboard_takes_a_database_and_tls_files() -> None:
    inv = parse_command_line(["dashboard", "--database", "postgresql://imsh@db/imsh",
                              "--tls-cert", "c.pem", "--tls-key=k.pem", "--client-ca", "ca.pem"])
    assert inv.database == "postgresql://imsh@db/imsh"
    assert (inv.tls_cert, inv.tls_key, inv.client_ca) == ("c.pem", "k.pem", "ca.pem")
    with pytest.raises(UsageError, match="--tls-cert and --tls-key go together"):
        parse_command_line(["dashboard", "--tls-cert", "c.pem"])
    with pytest.raises(UsageError, match="--client-ca needs --tls-cert"):
        parse_command_line(["dashboard", "--client-ca", "ca.pem"])
