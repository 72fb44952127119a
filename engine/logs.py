"""Where imsh's logs live, and how the runner's raw output file is kept from growing for ever.

One place: the state directory's ``logs/`` folder (``StatePaths.log_dir``; the configuration
file's ``log.directory`` may name another, shell/config.py). Two files, each with one job:

- ``imsh-service.log`` — the runner's log (``logging``), written by every runner on the state
  directory, foreground, systemd or on demand; rotated by
  :class:`logging.handlers.RotatingFileHandler` at 5 MB, 5 kept (shell/service_main.py);
- ``imsh-runner.out`` — what an on-demand runner writes outside ``logging``: a Python traceback
  from a crash before logging was set up, a fatal error from the interpreter. The detached
  runner does not copy its log there (it logs to ``imsh-service.log`` only), so the file
  stays small; :func:`rotate_output` rolls it over with the same handler class before each
  launch once it passes :data:`OUTPUT_MAX_BYTES`.

Both are created mode 0600 in a 0700 directory. ``Get-MigrationUserStatistics -Diagnostic``
names them (:func:`log_files`).
"""

from __future__ import annotations

import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

SERVICE_LOG_NAME = "imsh-service.log"
RUNNER_OUTPUT_NAME = "imsh-runner.out"
OUTPUT_MAX_BYTES = 1024 * 1024
OUTPUT_BACKUPS = 3


def log_files(log_dir: Path) -> tuple[Path, Path]:
    """The runner's log and the on-demand runner's output file in ``log_dir``."""
    return log_dir / SERVICE_LOG_NAME, log_dir / RUNNER_OUTPUT_NAME


def rotate_output(path: Path, max_bytes: int = OUTPUT_MAX_BYTES,
                  backups: int = OUTPUT_BACKUPS) -> bool:
    """Roll ``path`` over (``.1`` … ``.backups``, the oldest dropped) when it is at least
    ``max_bytes`` long; True when it did. A missing file is left alone."""
    try:
        if path.stat().st_size < max_bytes:
            return False
    except FileNotFoundError:
        return False
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, delay=True,
                                  encoding="utf-8")
    try:
        handler.doRollover()
    finally:
        handler.close()
    if path.exists():
        os.chmod(path, 0o600)
    return True
