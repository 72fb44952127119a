"""The configuration file (shell/config.py): its search order, its keys, its errors, and what
the shell and the service take from it — the rules with literal input, then the real ``imsh``
console script reading a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shell.config import (
    ConfigError,
    Settings,
    find_config,
    load_settings,
    parse_settings,
    state_argument,
    state_paths,
)

ROOT = Path(__file__).resolve().parents[2]
FILE = Path("/etc/imsh/imsh.yaml")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the search order ----------------------------------------------------------------------


def test_config_option_comes_first_then_the_environment_then_state_dir_then_etc(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    explicit = write(tmp_path / "explicit.yaml", "")
    from_env = write(tmp_path / "env.yaml", "")
    in_state = write(state / "imsh.yaml", "")
    system = write(tmp_path / "etc" / "imsh.yaml", "")
    env = {"IMSH_CONFIG": str(from_env)}
    assert find_config(str(explicit), str(state), env, system) == explicit
    assert find_config(None, str(state), env, system) == from_env
    assert find_config(None, str(state), {}, system) == in_state
    assert find_config(None, None, {"IMSH_HOME": str(state)}, system) == in_state
    in_state.unlink()
    assert find_config(None, str(state), {}, system) == system
    system.unlink()
    assert find_config(None, str(state), {}, system) is None


def test_a_named_file_that_does_not_exist_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope.yaml \(from --config\) does not exist"):
        find_config(str(missing), None, {}, tmp_path / "none")
    with pytest.raises(ConfigError, match=r"nope.yaml \(from \$IMSH_CONFIG\) does not exist"):
        find_config(None, None, {"IMSH_CONFIG": str(missing)}, tmp_path / "none")


def test_no_file_anywhere_gives_the_built_in_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, str(tmp_path), {}, tmp_path / "none")
    assert settings == Settings()
    assert settings.log_level == "INFO" and settings.keep_alive is None


# --- keys and values ----------------------------------------------------------------------


def test_every_key_is_read() -> None:
    settings = parse_settings({
        "state_directory": "/srv/imsh", "database": "db/state.db",
        "log": {"level": "debug", "directory": "/var/log/imsh"},
        "smtp": {"server": "smtp.contoso.com", "port": 587, "security": "tls",
                 "from": "migration@contoso.com"},
        "runner": {"keep_alive": False, "max_workers": 4, "poll_interval": 0.5,
                   "lease_ttl": 30, "retry_base": 5},
    }, FILE)
    assert settings == Settings(
        source=FILE, state_directory=Path("/srv/imsh"), database=Path("db/state.db"),
        log_level="DEBUG", log_directory=Path("/var/log/imsh"),
        smtp_server="smtp.contoso.com", smtp_port=587, smtp_security="Tls",
        smtp_from="migration@contoso.com", keep_alive=False, max_workers=4,
        poll_interval=0.5, lease_ttl=30.0, retry_base=5.0)


@pytest.mark.parametrize(("data", "message"), [
    ({"state_dir": "/x"}, "unknown key 'state_dir'; the keys are state_directory, database"),
    ({"runner": {"workers": 4}}, "unknown key 'runner.workers'"),
    ({"log": "INFO"}, "log must hold keys (such as log.level), not 'INFO'"),
    ({"log": {"level": "LOUD"}}, "log.level is 'LOUD'; it must be one of DEBUG, INFO"),
    ({"smtp": {"port": 70000}}, "smtp.port is 70000; it must be a port number from 1 to 65535"),
    ({"smtp": {"security": "StartTls"}}, "smtp.security is 'StartTls'; it must be one of None"),
    ({"runner": {"keep_alive": "yes please"}}, "runner.keep_alive is 'yes please'; it must be "
                                               "true or false"),
    ({"runner": {"max_workers": 0}}, "runner.max_workers is 0; it must be a whole number"),
    ({"runner": {"lease_ttl": -5}}, "runner.lease_ttl is -5; it must be a positive number"),
    ({"database": ""}, "database is ''; it must be a non-empty text"),
    (["state_directory"], "expected keys such as state_directory or runner:, not a list"),
])
def test_unknown_keys_and_bad_values_are_refused_with_the_key_and_what_is_allowed(
        data: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(data, FILE)
    assert str(raised.value).startswith(f"{FILE}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_yaml_that_does_not_parse_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "imsh.yaml", "runner:\n  keep_alive: true\n bad: [\n")
    with pytest.raises(ConfigError, match=r"imsh.yaml at line \d+: "):
        load_settings(str(path), None, {}, tmp_path / "none")


def test_yaml_null_security_means_the_word_none() -> None:
    assert parse_settings({"smtp": {"security": None}}, FILE).smtp_security == "None"


# --- applying them -------------------------------------------------------------------------


def test_state_option_and_imsh_home_win_over_the_files_state_directory(tmp_path: Path) -> None:
    settings = Settings(state_directory=tmp_path / "from-file", database=Path("db.sqlite"),
                        log_directory=tmp_path / "logs")
    assert state_paths(settings, None, {}).root == tmp_path / "from-file"
    assert state_paths(settings, None, {}).db == tmp_path / "from-file" / "db.sqlite"
    assert state_paths(settings, None, {}).log_dir == tmp_path / "logs"
    assert state_paths(settings, str(tmp_path / "cli"), {}).root == tmp_path / "cli"
    home = {"IMSH_HOME": str(tmp_path / "home")}
    assert state_paths(settings, None, home).root == tmp_path / "home"
    assert state_argument(settings, None, {}) == str(tmp_path / "from-file")
    assert state_argument(settings, None, home) is None
    assert state_argument(Settings(), None, {}) is None


# --- through the console script ------------------------------------------------------------


def imsh(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT), **(env or {})}
    environ.pop("IMSH_CONFIG", None) if "IMSH_CONFIG" not in (env or {}) else None
    return subprocess.run([sys.executable, "-m", "shell.main", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_postgresql_url_in_the_config_file_puts_the_state_there_unless_overridden(
        tmp_path: Path) -> None:
    path = tmp_path / "imsh.yaml"
    path.write_text("database: postgresql://imsh@db.example.org/imsh\n")
    settings = load_settings(str(path), None, {}, tmp_path / "none")
    assert settings.database == "postgresql://imsh@db.example.org/imsh"
    paths = state_paths(settings, str(tmp_path / "state"), {})
    assert paths.database == "postgresql://imsh@db.example.org/imsh"
    assert paths.db == tmp_path / "state" / "state.db"  # untouched: the URL is used instead
    override = {"IMSH_DATABASE": "postgresql://other@db2.example.org/imsh"}
    assert state_paths(settings, str(tmp_path / "state"), override).database == \
        "postgresql://other@db2.example.org/imsh"


def test_admin_with_a_typo_in_the_config_file_gets_one_line_and_nothing_runs(
        tmp_path: Path) -> None:
    config = write(tmp_path / "imsh.yaml", "runner:\n  keep_alive: true\n  max_worker: 4\n")
    state = tmp_path / "state"
    result = imsh("--config", str(config), "--state", str(state), "-c", "'ran'", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (f"imsh: {config}: unknown key 'runner.max_worker'; the keys are "
                             "state_directory, database, log.level, log.directory, "
                             "smtp.server, smtp.port, smtp.security, smtp.from, "
                             "runner.keep_alive, runner.max_workers, runner.poll_interval, "
                             "runner.lease_ttl, runner.retry_base\n")
    assert not state.exists()  # nothing was created on the way to the error


def test_state_dir_config_sets_where_the_database_and_logs_go_and_the_smtp_defaults(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    write(state / "imsh.yaml", "database: imsh.db\nlog:\n  directory: ../logs\n"
          "  level: DEBUG\nsmtp:\n  server: smtp.contoso.com\n  port: 2525\n"
          "  from: migration@contoso.com\n")
    shown = imsh("--state", str(state), "-c",
                 "$c = Get-MigrationConfig; \"$($c.SmtpServer):$($c.SmtpPort) $($c.SmtpFrom)\"",
                 cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "smtp.contoso.com:2525 migration@contoso.com"
    assert (state / "imsh.db").is_file() and not (state / "state.db").exists()
    # removed by the admin: the file does not bring it back
    cleared = imsh("--state", str(state), "-c",
                   "Set-MigrationConfig -SmtpServer ''; (Get-MigrationConfig).SmtpServer",
                   cwd=tmp_path)
    assert cleared.returncode == 0 and cleared.stdout.strip() == "", cleared.stderr
    served = imsh("--state", str(state), "service", "--until-idle", cwd=tmp_path)
    assert served.returncode == 0, served.stderr
    log = (tmp_path / "logs" / "imsh-service.log").read_text(encoding="utf-8")
    assert " DEBUG " in log and "no work is due; the runner exits" in log


def test_the_unit_service_install_writes_reads_the_same_config_file(tmp_path: Path) -> None:
    config = write(tmp_path / "etc" / "imsh.yaml", "log:\n  level: WARNING\n")
    state, units = tmp_path / "state", tmp_path / "units"
    done = imsh("--config", str(config), "--state", str(state), "service", "install",
                "--unit-dir", str(units), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    start = next(line for line in (units / "imsh.service").read_text().splitlines()
                 if line.startswith("ExecStart="))
    assert start.endswith(f" --config {config} --state {state} service")


def test_a_runner_started_on_demand_is_given_the_same_config_file(tmp_path: Path) -> None:
    from shell import config
    from shell.launch import keep_alive_enabled, runner_command

    config.activate(Settings(source=tmp_path / "imsh.yaml", keep_alive=False))
    try:
        command = runner_command(tmp_path / "state")
        assert command[command.index("--config") + 1] == str(tmp_path / "imsh.yaml")
        assert keep_alive_enabled({}) is False  # the file's runner.keep_alive
        assert keep_alive_enabled({"IMSH_RUNNER_KEEP_ALIVE": "1"}) is True  # the environment wins
    finally:
        config.activate(Settings())
    assert "--config" not in runner_command(tmp_path / "state")
