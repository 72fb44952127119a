"""Assembly: build the registry, the session and the host for one ``imsh`` invocation.

This is the only place that knows every layer: it resolves the state directory, opens the
engine lazily (so ``imsh -c "1+1"`` never touches the store), registers the general-purpose
and migration cmdlets, and picks the right front end (console, script, one line, stdin).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from shell.main import Invocation

if TYPE_CHECKING:  # imported where used: `imsh service` needs neither the language nor cmdlets
    from cmdlets.registry import Registry
    from shell.session import Session


def build_registry() -> Registry:
    """Every cmdlet the language can call: general-purpose first, then migration ones, each
    module imported when one of its cmdlets is first used (shell/cmdlet_index.py)."""
    from cmdlets.registry import Registry
    from shell.cmdlet_index import PROVIDERS

    return Registry(providers=PROVIDERS)


def engine_factory(state: str | None) -> Callable[[], Any]:
    """A function opening the engine façade on the state directory at first use."""

    def open_engine() -> Any:
        from engine.errors import ImshError
        from engine.service import Engine
        from shell import config
        from shell.launch import keep_alive_enabled, make_runner_launcher

        keep = keep_alive_enabled()
        engine = Engine.open(
            config.paths_for(state), runner_launcher=make_runner_launcher(state),
            keep_runner=keep,
        )
        apply_smtp_defaults(engine, config.active())
        if keep:  # a runner killed while passes were due comes back here
            # if that fails the command still runs; Get-MigrationBatch warns that none runs
            with contextlib.suppress(ImshError, OSError):
                engine.revive_runner()
        return engine

    return open_engine


def apply_smtp_defaults(engine: Any, settings: Any) -> None:
    """The configuration file's ``smtp`` section, stored once (shell/config.py); a bad value
    is the error of the cmdlet that opened the engine, naming the file."""
    from engine.errors import ImshError
    from engine.service.smtp_config import SmtpChanges

    if not settings.smtp_given:
        return
    changes = SmtpChanges(
        **{name: value for name, value in (
            ("server", settings.smtp_server), ("port", settings.smtp_port),
            ("security", settings.smtp_security), ("sender", settings.smtp_from))
           if value is not None})
    try:
        engine.apply_smtp_defaults(changes)
    except ImshError as exc:
        engine.close()
        raise ImshError(f"The configuration file {settings.source}: smtp: {exc.message}",
                        category=exc.category, error_id=exc.error_id) from None


def build_session(
    state: str | None,
    *,
    interactive: bool,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Session:
    from shell.session import Session

    return Session(
        build_registry(),
        engine_factory=engine_factory(state),
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        stdin=stdin or sys.stdin,
        cwd=Path.cwd(),
        interactive=interactive,
    )


def run_invocation(inv: Invocation) -> int:
    """Run what the command line asked for and return the process exit status."""
    from shell import config

    try:
        settings = config.load_settings(inv.config, inv.state)
    except config.ConfigError as exc:
        print(f"imsh: {exc}", file=sys.stderr)
        return 1
    config.activate(settings)
    inv.state = config.state_argument(settings, inv.state)
    # imapclient says at WARNING level each time it decoded a server's reply leniently (a NO
    # naming a folder in UTF-8, say "Réunions"); imsh reads those replies itself, so the note
    # only filled the runner's log and, without a handler, the admin's console
    logging.getLogger("imapclient.util").setLevel(logging.ERROR)
    if inv.service and inv.service_action is not None:
        from shell.service_unit import run_unit_action

        return run_unit_action(inv.state, inv.service_action, inv.service_options)
    if inv.dashboard:
        from shell.dashboard.server import DEFAULT_LISTEN, TlsFiles, run_dashboard

        tls = (TlsFiles(inv.tls_cert, inv.tls_key, inv.client_ca)
               if inv.tls_cert is not None and inv.tls_key is not None else None)
        return run_dashboard(inv.state, inv.listen or DEFAULT_LISTEN, tls)
    if inv.service:
        from engine.memory import limit_malloc_arenas
        from shell.service_main import run_service

        limit_malloc_arenas()  # before the runner's threads (engine/memory.py)
        return run_service(inv.state, until_idle=inv.until_idle, keep_alive=inv.keep_alive)
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    session = build_session(inv.state, interactive=terminal and inv.command is None
                            and inv.script is None)
    try:
        return _run_front_end(session, inv, terminal)
    finally:
        session.close()


def _run_front_end(session: Session, inv: Invocation, terminal: bool) -> int:
    if inv.command is not None:
        session.run(inv.command, source="-c")
        return session.exit_code
    if inv.script is not None:
        return session.run_file(Path(inv.script), inv.script_args)
    if not terminal:
        session.run(sys.stdin.read(), source="<stdin>")
        return session.exit_code
    return _run_console(session, inv.state)


def _run_console(session: Session, state: str | None) -> int:
    from shell.host import ImshShell

    history = _history_file(state)
    shell = ImshShell(session, history_file=history)
    return shell.cmdloop()


def _history_file(state: str | None) -> Path | None:
    """The console's history file, private from the start: the state directory is created
    0700 here, before the line reader would create it under the umask, and the file 0600."""
    try:
        from engine.paths import ensure_state_dir
        from shell import config
        from shell.history import prepare_history_file

        return prepare_history_file(ensure_state_dir(config.paths_for(state)).history)
    except Exception:  # history is a convenience; the shell runs without it
        return None
