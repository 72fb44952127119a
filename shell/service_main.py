"""``imsh service [--until-idle]``: run the runner in the foreground, with logging and signals.

Logging goes to stderr and to ``<state>/logs/imsh-service.log`` (rotated at 5 MB, 5 kept,
mode 0600); a runner a shell launched (``IMSH_LAUNCH_OWNER`` set) logs to the file only, since
its stderr is ``imsh-runner.out`` and would repeat every line (engine/logs.py). The level and
the runner limits may come from the configuration file (shell/config.py). SIGTERM and SIGINT
ask for a clean stop: running syncs stop at a safe point, their leases are released, and the
exit status is 0.

Environment (mainly for tests and diagnosis; docs/service.md):

- ``IMSH_LEASE_TTL`` — lease time-to-live in seconds (default 60); a killed runner's users are
  taken over this long after it died.
- ``IMSH_POLL_INTERVAL`` — seconds between the runner's looks at the store (default 1).
- ``IMSH_RETRY_BASE`` — the first wait after a transient fault, in seconds (default 30; it
  doubles up to 15 minutes, engine/runner/scheduler.py). Tests of retries use 2.
- ``IMSH_SERVICE_SYNCER`` — tests only: ``module:function`` of a stand-in syncer to run
  instead of the sync executor (:func:`engine.sync.executor.sync_user`, imported directly: the
  runner depends on the executor like any other module, no string names it). A runner started
  by the shell inherits the shell's environment, the one channel a test has into it; in-process
  callers pass ``syncer=`` to :func:`run_service`.
- ``IMSH_COMMAND_DEADLINE`` — the base of every IMAP command's deadline, in seconds (default
  120), and ``IMSH_MIN_TRANSFER_RATE`` — the slowest transfer a command may make, in bytes per
  second (default 16384): a command may take base + bytes / rate (engine/imap/deadline.py).
- ``IMSH_LAUNCH_OWNER`` — set by the launcher (shell/launch.py): the owner of the ``launch``
  lease this runner releases once it holds its own ``runner:`` lease.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import FrameType
from typing import Any, cast

from engine.errors import ImshError
from engine.imap import deadline
from engine.logs import SERVICE_LOG_NAME
from engine.paths import StatePaths, ensure_private_dir, ensure_state_dir
from engine.runner import Runner, UserSyncer
from engine.runner.launcher import LAUNCH_RESOURCE
from engine.runner.runner import DEFAULT_MAX_WORKERS
from engine.runner.scheduler import RETRY_BASE_SECONDS
from engine.service.auto_proofs import with_proofs
from engine.sync.executor import sync_user
from shell import config

LOG_NAME = SERVICE_LOG_NAME
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
ENV_LEASE_TTL = "IMSH_LEASE_TTL"
ENV_POLL_INTERVAL = "IMSH_POLL_INTERVAL"
ENV_RETRY_BASE = "IMSH_RETRY_BASE"
ENV_SYNCER = "IMSH_SERVICE_SYNCER"
ENV_LAUNCH_OWNER = "IMSH_LAUNCH_OWNER"
ENV_COMMAND_DEADLINE = "IMSH_COMMAND_DEADLINE"
ENV_MIN_TRANSFER_RATE = "IMSH_MIN_TRANSFER_RATE"

log = logging.getLogger("imsh.service")


def run_service(state: str | None, until_idle: bool, keep_alive: bool = False,
                syncer: UserSyncer | None = None) -> int:
    """Run the runner on the state directory until stopped (or idle); the exit status.
    ``keep_alive`` (``--keep-alive``, the on-demand runner): idle means no pass is due at all
    (engine/runner/runner.py). ``syncer``: what runs one user's pass (default: the sync
    executor with its automatic proofs, or the test stand-in ``IMSH_SERVICE_SYNCER`` names)."""
    try:
        paths = ensure_state_dir(config.paths_for(state))
        handlers = configure_logging(paths, to_stderr=not os.environ.get(ENV_LAUNCH_OWNER))
    except (ImshError, OSError) as exc:
        print(f"imsh service: {exc}", file=sys.stderr)
        return 1
    try:
        return _serve(paths, until_idle, os.environ, keep_alive, syncer)
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _serve(paths: StatePaths, until_idle: bool, env: Mapping[str, str],
           keep_alive: bool = False, syncer: UserSyncer | None = None) -> int:
    stop = threading.Event()
    previous = install_stop_handlers(stop)
    try:
        deadline.configure(deadline.Deadlines(
            _seconds(env, ENV_COMMAND_DEADLINE, deadline.DEFAULT_BASE_SECONDS),
            _seconds(env, ENV_MIN_TRANSFER_RATE, deadline.DEFAULT_MIN_RATE)))
        settings = config.active()
        if syncer is None:
            syncer = load_syncer(env.get(ENV_SYNCER))
            if env.get(ENV_SYNCER) is None:  # the real executor: proofs at the moments that matter
                syncer = with_proofs(syncer)
        runner = Runner(
            paths,
            syncer,
            lease_ttl=_seconds(env, ENV_LEASE_TTL, settings.lease_ttl or 60.0),
            poll_interval=_seconds(env, ENV_POLL_INTERVAL, settings.poll_interval or 1.0),
            max_workers=settings.max_workers or DEFAULT_MAX_WORKERS,
            retry_base=_seconds(env, ENV_RETRY_BASE, settings.retry_base or RETRY_BASE_SECONDS),
            handover=_launch_handover(env),
            keep_alive=keep_alive,
        )
        runner.run(until_idle, stop)
    except ImshError as exc:
        log.error("the runner stopped: %s", exc)
        return 1
    finally:
        restore_handlers(previous)
    return 0


def configure_logging(paths: StatePaths, to_stderr: bool = True) -> list[logging.Handler]:
    """Log at the configured level (INFO unless the configuration file's ``log.level`` says
    otherwise) to the rotating file (and stderr); returns the handlers added."""
    ensure_private_dir(paths.log_dir)
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [PrivateRotatingFileHandler(paths.log_dir / LOG_NAME)]
    if to_stderr:
        handlers.insert(0, logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    root.setLevel(config.active().log_level)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return handlers


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log file created (and re-created on rotation) with mode 0600."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
        os.chmod(path, 0o600)

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


_Handler = Callable[[int, FrameType | None], Any] | int | None


def install_stop_handlers(stop: threading.Event) -> dict[int, _Handler]:
    """SIGTERM and SIGINT set ``stop``; returns the previous handlers."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received; stopping cleanly", signal.Signals(signum).name)
        stop.set()

    previous: dict[int, _Handler] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, request_stop)
    return previous


def restore_handlers(previous: dict[int, _Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def load_syncer(spec: str | None = None) -> UserSyncer:
    """The sync executor; with ``spec`` (tests: ``module:function``) that stand-in instead."""
    if not spec:
        return sync_user
    module_name, _, function = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ImshError(f"cannot load the syncer {module_name}: {exc}") from exc
    syncer = getattr(module, function, None) if function else None
    if not callable(syncer):
        raise ImshError(f"{module_name} has no syncer function {function!r}")
    return cast(UserSyncer, syncer)


def _launch_handover(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The launch lease of the shell that started this runner, set by shell/launch.py."""
    owner = env.get(ENV_LAUNCH_OWNER)
    return (LAUNCH_RESOURCE, owner) if owner else None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ImshError(f"{name} must be a positive number of seconds, not {text!r}")
    return value
