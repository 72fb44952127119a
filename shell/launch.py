"""The runner launcher the shell gives the engine: start ``imsh service --until-idle`` detached.

``make_runner_launcher(state)`` returns the callable ``Engine.open(paths, runner_launcher=...)``
takes. Called after Start-MigrationBatch (or Start-MigrationUser) made users due, it does
nothing when a runner already holds the state directory; otherwise it takes the short
``launch`` lease (so two shells starting batches at once launch one runner; the runner
releases it once it holds its own lease) and starts::

    python -m shell.main --state DIR service --until-idle --keep-alive

in a session of its own, its output going to ``<state>/logs/imsh-runner.out`` (rotated before
a launch once it passes 1 MB; its log goes to imsh-service.log only, engine/logs.py). ``ps``
shows it as ``... service --until-idle --keep-alive``: it stays while any batch has a pass due, so
incremental syncs happen by themselves (engine/runner/runner.py). ``IMSH_RUNNER_KEEP_ALIVE=0``
(or ``runner: keep_alive: false`` in the configuration file) launches it without
``--keep-alive``: it then exits once no unfinished pass waits, as a test suite wants, and
Get-MigrationBatch warns that the next pass has no runner. With keep-alive on, every command
that opens the engine revives a runner that died while passes were due
(:func:`engine.service.pending.revive_runner`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import shell
from engine.logs import RUNNER_OUTPUT_NAME, rotate_output
from engine.paths import ensure_private_dir
from engine.runner.launcher import claim_launch, launch_detached, runner_is_active
from engine.runner.liveness import new_owner
from engine.store import Store
from shell import config

OUTPUT_NAME = RUNNER_OUTPUT_NAME
LAUNCH_OWNER_ENV = "IMSH_LAUNCH_OWNER"  # the child releases our launch lease once it runs
KEEP_ALIVE_ENV = "IMSH_RUNNER_KEEP_ALIVE"
_OFF = ("0", "false", "no", "off")

log = logging.getLogger(__name__)


def keep_alive_enabled(env: Mapping[str, str] | None = None,
                       settings: config.Settings | None = None) -> bool:
    """Does the on-demand runner wait for the next incremental pass? ``$IMSH_RUNNER_KEEP_ALIVE``
    (0/false/no/off: no), else the configuration file's ``runner.keep_alive``, else yes."""
    value = (os.environ if env is None else env).get(KEEP_ALIVE_ENV, "").strip().lower()
    if value:
        return value not in _OFF
    chosen = (settings or config.active()).keep_alive
    return True if chosen is None else chosen


def runner_command(state_root: Path, keep_alive: bool = True) -> list[str]:
    """The command line of a detached runner for ``state_root``."""
    return [
        sys.executable,
        "-m",
        "shell.main",
        *(["--config", str(source)] if (source := config.active().source) else []),
        "--state",
        str(state_root),
        "service",
        "--until-idle",
        *(["--keep-alive"] if keep_alive else []),
    ]


def make_runner_launcher(state: str | None) -> Callable[[], None]:
    """A function that starts a detached runner on ``state`` unless one is already active."""
    paths = config.paths_for(state)

    def launch_runner_if_needed() -> None:
        owner = new_owner(paths.host)
        with Store.open(paths) as store:
            if runner_is_active(store) or not claim_launch(store, owner):
                return
        ensure_private_dir(paths.log_dir)
        rotate_output(paths.log_dir / OUTPUT_NAME)
        launch_detached(
            runner_command(paths.root, keep_alive_enabled()),
            paths.log_dir / OUTPUT_NAME,
            env={**_child_environment(), LAUNCH_OWNER_ENV: owner},
            cwd=paths.root,
        )

    return launch_runner_if_needed


def _child_environment() -> dict[str, str]:
    """This environment, with the directory holding the ``shell`` package importable."""
    source_root = str(Path(shell.__file__).resolve().parent.parent)
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([source_root, *[p for p in parts if p != source_root]])
    return env
