"""``imsh service install | uninstall | status``: keep the runner running under systemd.

Exchange keeps a migration in step by itself (an incremental pass every 24 hours) and survives
a reboot; imsh's on-demand runner (started by Start-MigrationBatch) exits once no work is due,
so incremental passes need a runner that stays up. ``imsh service install`` writes a unit that
runs ``imsh service --state DIR`` and enables it:

- **system unit** (default as root): ``/etc/systemd/system/imsh.service``, ``User=`` the owner
  of the state directory, started at boot (``WantedBy=multi-user.target``);
- **user unit** (``--user``, the default for other users): ``~/.config/systemd/user/``, started
  with the user's session (``loginctl enable-linger USER`` keeps it up without one; the command
  says so).

The unit names the absolute ``imsh`` (the console script of the environment that runs the
install) and the absolute state directory, so it works from any directory. Several state
directories get one unit each: ``--name`` (default ``imsh``). SIGTERM is a clean stop
(docs/service.md); ``TimeoutStopSec`` covers one command's deadline.

Where systemd is not running (a container, WSL without systemd), the unit is still written,
nothing is enabled, and the command says plainly that passes will only run while a runner is
started by hand (``imsh service``) — the exit status is then 1. ``--unit-dir DIR`` writes
elsewhere and enables nothing (tests, packaging). :func:`unit_text` is pure; the rest does the
file and ``systemctl`` work.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
USER_UNIT_DIR = Path("~/.config/systemd/user")
SYSTEMD_RUNNING = Path("/run/systemd/system")  # sd_booted(): systemd is PID 1
DEFAULT_NAME = "imsh"


@dataclass(frozen=True)
class UnitSpec:
    """What the unit runs, as whom, and where it lives."""

    name: str
    command: tuple[str, ...]  # the imsh console script (or python -m shell.main)
    state: Path
    user_unit: bool
    run_as: str | None  # system units only
    # the PostgreSQL state database (``--database`` / IMSH_DATABASE) the runner must use; never
    # one with a password: a unit file is readable by every user (docs/scale-out.md)
    database: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.service"


class ServiceSetupError(Exception):
    """The unit could not be written or (un)registered; the message says why."""


def unit_text(spec: UnitSpec) -> str:
    """The systemd unit for ``spec`` (pure)."""
    database = ["--database", spec.database] if spec.database else []
    exec_start = shlex.join([*spec.command, "--state", str(spec.state), *database, "service"])
    lines = [
        "# Written by 'imsh service install'; 'imsh service uninstall' removes it.",
        "[Unit]",
        f"Description=imsh IMAP migration runner ({spec.state})",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
    ]
    if not spec.user_unit and spec.run_as:
        lines.append(f"User={spec.run_as}")
    lines += [
        f"ExecStart={exec_start}",
        "Restart=on-failure",
        "RestartSec=10",
        "# SIGTERM is a clean stop: running passes stop at a safe point within seconds.",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=60",
        "UMask=0077",
        "",
        "[Install]",
        f"WantedBy={'default.target' if spec.user_unit else 'multi-user.target'}",
        "",
    ]
    return "\n".join(lines)


def imsh_command() -> tuple[str, ...]:
    """The absolute command that starts this imsh: its console script when there is one
    beside the running interpreter (a virtual environment, pipx), else ``python -m``."""
    beside = Path(sys.executable).parent / "imsh"
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside),)
    found = shutil.which("imsh")
    if found:
        return (str(Path(found).resolve()),)
    return (sys.executable, "-m", "shell.main")


def owner_of(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return pwd.getpwuid(os.getuid()).pw_name


def systemd_running() -> bool:
    return SYSTEMD_RUNNING.is_dir()


def unit_dir(user_unit: bool, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    return USER_UNIT_DIR.expanduser() if user_unit else SYSTEM_UNIT_DIR


def install(spec: UnitSpec, directory: Path, *, enable: bool) -> list[str]:
    """Write the unit (mode 0644, atomically) and, when asked and possible, enable and start
    it. Returns the lines to tell the admin; raises ServiceSetupError on failure."""
    path = directory / spec.file_name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(unit_text(spec), encoding="utf-8")
        temporary.chmod(0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise ServiceSetupError(f"cannot write {path}: {exc.strerror or exc}") from exc
    said = [f"wrote {path}"]
    if not enable:
        return said
    if not systemd_running():
        raise ServiceSetupError(
            f"wrote {path}, but systemd is not running on this machine, so nothing was "
            "enabled: incremental passes run only while a runner runs. Start one with "
            f"'imsh --state {spec.state} service' (under your own supervisor), or run this "
            "again where systemd runs.")
    _systemctl(spec.user_unit, "daemon-reload")
    _systemctl(spec.user_unit, "enable", "--now", spec.file_name)
    said.append(f"enabled and started {spec.file_name}"
                + (" (user unit)" if spec.user_unit else ""))
    if spec.user_unit:
        said.append("a user unit runs while you are logged in; 'loginctl enable-linger "
                    f"{pwd.getpwuid(os.getuid()).pw_name}' keeps it running without a session")
    return said


def uninstall(name: str, user_unit: bool, directory: Path, *, disable: bool) -> list[str]:
    """Stop and disable the unit (when systemd runs), then remove its file."""
    path = directory / f"{name}.service"
    said = []
    if disable and systemd_running() and path.exists():
        _systemctl(user_unit, "disable", "--now", path.name)
        said.append(f"stopped and disabled {path.name}")
    try:
        path.unlink()
    except FileNotFoundError:
        raise ServiceSetupError(f"no unit {path} to remove") from None
    except OSError as exc:
        raise ServiceSetupError(f"cannot remove {path}: {exc.strerror or exc}") from exc
    said.append(f"removed {path}")
    if disable and systemd_running():
        _systemctl(user_unit, "daemon-reload")
    return said


def status(name: str, user_unit: bool, directory: Path) -> list[str]:
    """Whether the unit is installed, enabled and running, in plain words."""
    path = directory / f"{name}.service"
    if not path.exists():
        return [f"not installed ({path} does not exist); 'imsh service install' installs it"]
    said = [f"installed: {path}"]
    if not systemd_running():
        said.append("systemd is not running on this machine: the unit is not in use")
        return said
    for verb in ("is-enabled", "is-active"):
        result = subprocess.run(["systemctl", *(["--user"] if user_unit else []), verb,
                                 path.name], capture_output=True, text=True, check=False)
        said.append(f"{verb.removeprefix('is-')}: {result.stdout.strip() or 'unknown'}")
    return said


def _systemctl(user_unit: bool, *args: str) -> None:
    command: Sequence[str] = ["systemctl", *(["--user"] if user_unit else []), *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceSetupError(f"{' '.join(command)}: {exc}") from exc
    if result.returncode != 0:
        raise ServiceSetupError(f"{' '.join(command)} failed: "
                                f"{(result.stderr or result.stdout).strip()}")


def _unit_database(url: str | None) -> str | None:
    """The database URL for the unit; one holding a password is refused, not written.

    libpq takes the password from the user-info part and from a ``password=`` query parameter
    alike, so both are refused."""
    if url is not None and _holds_password(url):
        raise ServiceSetupError(
            "the --database URL holds a password, and a unit file is readable by every user: "
            "give the URL without it and put the password in ~/.pgpass of the unit's user "
            "(mode 0600)")
    return url


def _holds_password(url: str) -> bool:
    parts = urlsplit(url)
    if parts.password is not None:
        return True
    return any(key.strip().lower() == "password"
               for key, _ in parse_qsl(parts.query, keep_blank_values=True))


def run_unit_action(state: str | None, action: str, options: dict[str, str | bool]) -> int:
    """``imsh service install|uninstall|status``: the exit status (messages on stdout, the
    failure on stderr)."""
    from engine.errors import ImshError
    from engine.paths import ensure_state_dir
    from shell import config

    user_unit = bool(options.get("user")) or os.getuid() != 0
    explicit_dir = options.get("unit-dir")
    directory = unit_dir(user_unit, str(explicit_dir) if explicit_dir else None)
    name = str(options.get("name") or DEFAULT_NAME)
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        print(f"imsh service: --name {name!r}: use letters, digits, '-', '_' and '.'",
              file=sys.stderr)
        return 2
    manage = explicit_dir is None  # a unit written elsewhere is only written
    try:
        if action == "install":
            paths = ensure_state_dir(config.paths_for(state))
            run_as = str(options.get("run-as") or owner_of(paths.root))
            source = config.active().source  # the unit reads the same configuration file
            command = (*imsh_command(), *(("--config", str(source)) if source else ()))
            spec = UnitSpec(name, command, paths.root, user_unit, run_as,
                            _unit_database(paths.database))
            said = install(spec, directory, enable=manage and not options.get("no-enable"))
        elif action == "uninstall":
            said = uninstall(name, user_unit, directory, disable=manage)
        else:
            said = status(name, user_unit, directory)
    except (ServiceSetupError, ImshError) as exc:
        print(f"imsh service {action}: {exc}", file=sys.stderr)
        return 1
    for line in said:
        print(f"imsh service {action}: {line}")
    return 0
