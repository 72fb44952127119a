"""The runner launcher the shell gives the engine: start ``imsh service --until-idle`` detached.

``make_runner_launcher(state)`` returns the callable ``Engine.open(paths, runner_launcher=...)``
takes. Called after Start-MigrationBatch (or Start-MigrationUser) made users due, it does
nothing when a runner already holds the state directory; otherwise it takes the short
``launch`` lease (so two shells starting batches at once launch one runner; the runner
releases it once it holds its own lease) and starts::

    python -m shell.main --state DIR service --until-idle

in a session of its own, logging to ``<state>/logs/imsh-runner.out``. ``ps`` shows it as
``... service --until-idle``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import shell
from engine.paths import ensure_private_dir, resolve_state_paths
from engine.runner.launcher import claim_launch, launch_detached, runner_is_active
from engine.runner.liveness import new_owner
from engine.store import Store

OUTPUT_NAME = "imsh-runner.out"
LAUNCH_OWNER_ENV = "IMSH_LAUNCH_OWNER"  # the child releases our launch lease once it runs

log = logging.getLogger(__name__)


def runner_command(state_root: Path) -> list[str]:
    """The command line of a detached runner for ``state_root``."""
    return [
        sys.executable,
        "-m",
        "shell.main",
        "--state",
        str(state_root),
        "service",
        "--until-idle",
    ]


def make_runner_launcher(state: str | None) -> Callable[[], None]:
    """A function that starts a detached runner on ``state`` unless one is already active."""
    paths = resolve_state_paths(state)

    def launch_runner_if_needed() -> None:
        owner = new_owner()
        with Store.open(paths) as store:
            if runner_is_active(store) or not claim_launch(store, owner):
                return
        ensure_private_dir(paths.log_dir)
        launch_detached(
            runner_command(paths.root),
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
