"""Where imsh keeps its state: the state directory and the files in it.

Resolution order for the state directory: the explicit ``--state DIR`` argument, else
``$IMSH_HOME``, else ``~/.local/share/imsh``. The key file is ``secret.key`` inside it unless
``$IMSH_KEY_FILE`` names another file. ``$IMSH_DATABASE`` (set by ``imsh --database URL``) puts
the state database in PostgreSQL instead of ``state.db`` (:attr:`StatePaths.database`).
``$IMSH_HOST_ID`` names the host this process runs on (:func:`host_id`; default: the hostname),
recorded in the leases it takes (engine/store/leases.py, engine/runner/liveness.py).

:func:`resolve_state_paths` only computes names; :func:`ensure_state_dir` creates the directory
on first use with mode 0700. ``mkdir`` is given 0700 itself (the umask can only remove bits, so
there is no moment at which the new directory is 0755) and a ``chmod`` then states the mode
exactly, whatever the umask. Every front end creates it this way before anything else writes
there: the console (before the line reader opens its history file), ``-c``, scripts and
``imsh service``. A directory that already holds one of imsh's files (``state.db``,
``secret.key`` or the console's ``history``) but is readable by others — for example because
it was created under a loose umask, by an older imsh, or copied — has its group/other bits
cleared; any other pre-existing directory is the user's and is left as it is.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ErrorCategory, StateStoreError

DEFAULT_STATE_DIR = "~/.local/share/imsh"
STATE_DIR_ENV = "IMSH_HOME"
KEY_FILE_ENV = "IMSH_KEY_FILE"
DATABASE_ENV = "IMSH_DATABASE"  # a postgresql:// URL: the state database lives there
HOST_ID_ENV = "IMSH_HOST_ID"  # this host's name in leases (default: the hostname)
DB_NAME = "state.db"
KEY_NAME = "secret.key"
HISTORY_NAME = "history"  # the console's line history (shell/history.py)
DIR_MODE = 0o700


@dataclass(frozen=True)
class StatePaths:
    """The files and folders of one state directory (all absolute)."""

    root: Path
    db: Path
    key_file: Path
    log_dir: Path
    maildir_default: Path  # where the default ``LocalMaildir`` target endpoint points
    history: Path  # the interactive console's history file
    # ``postgresql://...`` (``--database`` / ``$IMSH_DATABASE``): the store is there instead of
    # ``db`` (engine/store/pg.py); the key file and logs stay in the state directory. Not in
    # the repr: the URL may hold a password
    database: str | None = field(default=None, repr=False)
    host: str = field(default_factory=lambda: host_id({}))  # who this process's leases name


_NOT_IN_HOST_ID = re.compile(r"[^A-Za-z0-9._-]+")


def host_id(env: Mapping[str, str] | None = None) -> str:
    """This host's name in lease owners: ``$IMSH_HOST_ID``, else the hostname. Anything but
    letters, digits, ``.``, ``_`` and ``-`` becomes ``-`` (a ``:`` would break the owner
    names ``host:pid:start:nonce`` of engine/runner/liveness.py)."""
    environ = os.environ if env is None else env
    given = (environ.get(HOST_ID_ENV) or "").strip() or socket.gethostname() or "localhost"
    return _NOT_IN_HOST_ID.sub("-", given)


def resolve_state_paths(
    explicit: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> StatePaths:
    """Compute the state paths without touching the file system."""
    environ = os.environ if env is None else env
    root = _absolute(explicit or environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    key_override = environ.get(KEY_FILE_ENV)
    key_file = _absolute(key_override) if key_override else root / KEY_NAME
    return StatePaths(
        root=root,
        db=root / DB_NAME,
        key_file=key_file,
        log_dir=root / "logs",
        maildir_default=root / "maildir",
        history=root / HISTORY_NAME,
        database=environ.get(DATABASE_ENV) or None,
        host=host_id(environ),
    )


def ensure_state_dir(paths: StatePaths) -> StatePaths:
    """Create the state directory (mode 0700) if needed and tighten one imsh created."""
    root = paths.root
    try:
        if root.exists():
            _check_is_dir(root)
            if any(path.exists() for path in (paths.db, root / KEY_NAME, paths.history)):
                _tighten_mode(root)
        else:
            root.parent.mkdir(parents=True, exist_ok=True)
            _make_private_dir(root)
    except OSError as exc:
        raise StateStoreError(
            f"cannot use state directory {root}: {exc.strerror or exc}",
            category=ErrorCategory.PermissionDenied,
            error_id="StateDirectoryUnusable",
        ) from exc
    return paths


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (one level, mode 0700) unless it exists; used for the log folder."""
    if not path.exists():
        _make_private_dir(path)
    return path


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:  # another imsh process won the race; it used the same mode
        _check_is_dir(path)
        return
    # mkdir's mode is masked by the umask, which can only remove bits; chmod states it exactly.
    os.chmod(path, DIR_MODE)


def _tighten_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, mode & ~0o077)


def _check_is_dir(path: Path) -> None:
    if not path.is_dir():
        raise StateStoreError(
            f"state directory {path} exists but is not a directory",
            category=ErrorCategory.InvalidArgument,
            error_id="StateDirectoryNotADirectory",
        )


def _absolute(value: str | os.PathLike[str]) -> Path:
    return Path(value).expanduser().absolute()
