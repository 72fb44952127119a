"""``imsh service`` plumbing in process: which syncer runs, settings from the environment, log."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from engine.errors import ImshError
from engine.paths import ensure_state_dir, resolve_state_paths
from shell import service_main
from shell.launch import keep_alive_enabled, runner_command
from shell.main import UsageError, parse_command_line
from tests.integration import service_syncers


def test_the_sync_executor_is_the_default_syncer() -> None:
    from engine.sync.executor import sync_user

    assert service_main.load_syncer(None) is sync_user


def test_a_named_syncer_is_loaded() -> None:
    syncer = service_main.load_syncer("tests.integration.service_syncers:quick")
    assert syncer is service_syncers.quick


@pytest.mark.parametrize("spec", ["no.such.module:f", "tests.integration.service_syncers:nope"])
def test_a_bad_syncer_name_is_a_clear_error(spec: str) -> None:
    with pytest.raises(ImshError, match="syncer"):
        service_main.load_syncer(spec)


@pytest.mark.parametrize("text", ["0", "-1", "soon"])
def test_lease_ttl_must_be_a_positive_number(text: str) -> None:
    with pytest.raises(ImshError, match="IMSH_LEASE_TTL must be a positive number"):
        service_main._seconds({"IMSH_LEASE_TTL": text}, "IMSH_LEASE_TTL", 60.0)
    assert service_main._seconds({}, "IMSH_LEASE_TTL", 60.0) == 60.0
    assert service_main._seconds({"IMSH_LEASE_TTL": "2.5"}, "IMSH_LEASE_TTL", 60.0) == 2.5


def test_log_file_is_private_and_receives_records(tmp_path: Path) -> None:
    paths = ensure_state_dir(resolve_state_paths(tmp_path / "state", env={}))
    level = logging.getLogger().level
    handlers = service_main.configure_logging(paths)
    try:
        logging.getLogger("engine.runner.test").info("hello from the runner")
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
        logging.getLogger().setLevel(level)
    log_file = paths.log_dir / service_main.LOG_NAME
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert "hello from the runner" in log_file.read_text()


def test_log_file_rotates_keeping_five_private_files(tmp_path: Path) -> None:
    path = tmp_path / service_main.LOG_NAME
    handler = service_main.PrivateRotatingFileHandler(path)
    handler.maxBytes = 300  # 5 MB in production: rotate after a few records here
    record = logging.LogRecord("imsh", logging.INFO, __file__, 1, "x" * 100, None, None)
    try:
        for _ in range(40):
            handler.emit(record)
    finally:
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [service_main.LOG_NAME] + [
        f"{service_main.LOG_NAME}.{n}" for n in range(1, service_main.LOG_BACKUPS + 1)]
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o600}


def test_runner_command_reads_service_until_idle(tmp_path: Path) -> None:
    command = runner_command(tmp_path, keep_alive=False)
    assert " ".join(command).endswith(f"-m shell.main --state {tmp_path} service --until-idle")


def test_on_demand_runner_waits_for_the_next_pass_unless_keep_alive_is_off(
        tmp_path: Path) -> None:
    assert runner_command(tmp_path)[-2:] == ["--until-idle", "--keep-alive"]
    assert keep_alive_enabled({}) is True
    assert keep_alive_enabled({"IMSH_RUNNER_KEEP_ALIVE": "1"}) is True
    for off in ("0", "false", "No", " off "):
        assert keep_alive_enabled({"IMSH_RUNNER_KEEP_ALIVE": off}) is False


def test_keep_alive_goes_with_until_idle() -> None:
    inv = parse_command_line(["service", "--until-idle", "--keep-alive"])
    assert (inv.service, inv.until_idle, inv.keep_alive) == (True, True, True)
    with pytest.raises(UsageError, match="--keep-alive goes with --until-idle"):
        parse_command_line(["service", "--keep-alive"])
