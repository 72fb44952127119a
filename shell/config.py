"""The configuration file: defaults for the shell and the service, in YAML (read with pyyaml).

Search order — the first file found is used, none is merged with another:

1. ``imsh --config FILE`` (the file must exist);
2. ``$IMSH_CONFIG`` (the file must exist);
3. ``imsh.yaml`` in the state directory (``--state``, else ``$IMSH_HOME``, else
   ``~/.local/share/imsh``);
4. ``/etc/imsh/imsh.yaml``.

Every key is optional; an unknown key or a bad value is an error that names the file, the key
and what is allowed, on one line, and nothing runs (a typo never silently falls back to a
default)::

    state_directory: /var/lib/imsh     # --state and $IMSH_HOME win over it
    database: state.db                 # relative to the state directory; its folder must exist;
                                       # or a postgresql:// URL (no password in it: ~/.pgpass)
    log:
      level: INFO                      # DEBUG, INFO, WARNING or ERROR
      directory: /var/log/imsh         # imsh-service.log and imsh-runner.out (engine/logs.py)
    smtp:                              # notification mail defaults, stored on first use
      server: smtp.contoso.com
      port: 587
      security: Tls                    # None, Ssl or Tls
      from: migration@contoso.com
    runner:
      keep_alive: true                 # the on-demand runner waits for the next pass
      max_workers: 32                  # syncs at once in one runner
      poll_interval: 1                 # seconds between its looks at the state
      lease_ttl: 60                    # seconds; a dead runner's users are free after this
      retry_base: 30                   # seconds before the first retry after a transient fault

Environment variables of the same settings (``IMSH_RUNNER_KEEP_ALIVE``, ``IMSH_POLL_INTERVAL``,
``IMSH_LEASE_TTL``, ``IMSH_RETRY_BASE``) win over the file, as ``--state`` does. The ``smtp``
section is applied once, the first time a state directory is opened with no SMTP settings at
all (as if given to Set-MigrationConfig; the marker ``SmtpDefaultsApplied`` records it), so a later
``Set-MigrationConfig -SmtpServer ''`` is not undone by the file. Passwords have no place here:
credentials are given to Set-MigrationConfig, which seals them (engine/secrets.py).

:func:`load_settings` finds and checks the file (pure but for reading it);
:func:`state_paths` applies ``state_directory``, ``database`` and ``log.directory``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.paths import DEFAULT_STATE_DIR, STATE_DIR_ENV, StatePaths, resolve_state_paths

CONFIG_ENV = "IMSH_CONFIG"
CONFIG_NAME = "imsh.yaml"
SYSTEM_CONFIG = Path("/etc/imsh/imsh.yaml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SMTP_SECURITIES = ("None", "Ssl", "Tls")


class ConfigError(Exception):
    """The configuration file cannot be used; the message is one line for the admin."""


@dataclass(frozen=True)
class Settings:
    """What the configuration file says (None: not given, the built-in default applies)."""

    source: Path | None = None
    state_directory: Path | None = None
    database: Path | str | None = None  # a SQLite file, or a postgresql:// URL
    log_level: str = "INFO"
    log_directory: Path | None = None
    smtp_server: str | None = None
    smtp_port: int | None = None
    smtp_security: str | None = None
    smtp_from: str | None = None
    keep_alive: bool | None = None
    max_workers: int | None = None
    poll_interval: float | None = None
    lease_ttl: float | None = None
    retry_base: float | None = None

    @property
    def smtp_given(self) -> bool:
        return any(v is not None for v in (self.smtp_server, self.smtp_port,
                                            self.smtp_security, self.smtp_from))


# --- the search ----------------------------------------------------------------------------


def find_config(explicit: str | None, state: str | None,
                env: Mapping[str, str] | None = None,
                system: Path = SYSTEM_CONFIG) -> Path | None:
    """The configuration file to use, by the search order; None when there is none."""
    environ = os.environ if env is None else env
    for given, how in ((explicit, "--config"), (environ.get(CONFIG_ENV), f"${CONFIG_ENV}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(f"the configuration file {path} (from {how}) does not exist")
            return path.absolute()
    root = Path(state or environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).expanduser()
    for candidate in (root / CONFIG_NAME, system):
        if candidate.is_file():
            return candidate.absolute()
    return None


def load_settings(explicit: str | None = None, state: str | None = None,
                  env: Mapping[str, str] | None = None,
                  system: Path = SYSTEM_CONFIG) -> Settings:
    """Find, read and check the configuration file; empty settings when there is none."""
    path = find_config(explicit, state, env, system)
    if path is None:
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc}") from None
    import yaml  # only when there is a file: most invocations have none

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    return parse_settings(data, path)


# --- the keys ------------------------------------------------------------------------------


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a non-empty text")
    return value.strip()


def _path(value: Any, key: str) -> Path:
    return Path(_text(value, key)).expanduser()


def _database(value: Any, key: str) -> Path | str:
    """A SQLite file (relative to the state directory) or a PostgreSQL URL, which
    ``--database`` and ``$IMSH_DATABASE`` override."""
    text = _text(value, key)
    if text.lower().startswith(("postgresql://", "postgres://")):
        return text
    return Path(text).expanduser()


def _level(value: Any, key: str) -> str:
    text = str(value).upper() if isinstance(value, str) else ""
    if text not in LOG_LEVELS:
        raise ValueError("one of " + ", ".join(LOG_LEVELS))
    return text


def _port(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError("a port number from 1 to 65535")
    return value


def _security(value: Any, key: str) -> str:
    if value is None:
        value = "None"  # YAML's null for the word None
    for word in SMTP_SECURITIES:
        if isinstance(value, str) and value.lower() == word.lower():
            return word
    raise ValueError("one of " + ", ".join(SMTP_SECURITIES))


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _workers(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError("a whole number from 1 to 1000")
    return value


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("a positive number of seconds")
    return float(value)


Check = Callable[[Any, str], Any]

# key in the file -> (the Settings field, its check)
_KEYS: dict[str, tuple[str, Check]] = {
    "state_directory": ("state_directory", _path),
    "database": ("database", _database),
    "log.level": ("log_level", _level),
    "log.directory": ("log_directory", _path),
    "smtp.server": ("smtp_server", _text),
    "smtp.port": ("smtp_port", _port),
    "smtp.security": ("smtp_security", _security),
    "smtp.from": ("smtp_from", _text),
    "runner.keep_alive": ("keep_alive", _bool),
    "runner.max_workers": ("max_workers", _workers),
    "runner.poll_interval": ("poll_interval", _seconds),
    "runner.lease_ttl": ("lease_ttl", _seconds),
    "runner.retry_base": ("retry_base", _seconds),
}
_SECTIONS = sorted({key.split(".")[0] for key in _KEYS})


def parse_settings(data: Any, path: Path) -> Settings:
    """Check the parsed YAML of ``path`` key by key (literal-input tests)."""
    if data is None:
        return Settings(source=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected keys such as state_directory or runner:, "
                          f"not a {type(data).__name__}")
    values: dict[str, Any] = {}
    for key, value in _flatten(data, path):
        if key not in _KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}; the keys are "
                              + ", ".join(_KEYS))
        field_name, check = _KEYS[key]
        try:
            values[field_name] = check(value, key)
        except ValueError as exc:
            raise ConfigError(f"{path}: {key} is {value!r}; it must be {exc}") from None
    return Settings(source=path, **values)


def _flatten(data: dict[Any, Any], path: Path) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = str(key)
        if name in _SECTIONS and name != "state_directory" and name != "database":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {name} must hold keys (such as "
                                  f"{next(k for k in _KEYS if k.startswith(name + '.'))}), "
                                  f"not {value!r}")
            pairs.extend((f"{name}.{sub}", inner) for sub, inner in value.items())
        else:
            pairs.append((name, value))
    return pairs


# --- applying them -------------------------------------------------------------------------


def state_paths(settings: Settings, state: str | None,
                env: Mapping[str, str] | None = None) -> StatePaths:
    """The state paths: ``--state`` and ``$IMSH_HOME`` first, then the file's
    ``state_directory``; its ``database`` and ``log.directory`` replace the defaults."""
    environ = os.environ if env is None else env
    explicit = state or environ.get(STATE_DIR_ENV) or settings.state_directory
    paths = resolve_state_paths(explicit, env=environ)
    if isinstance(settings.database, str):
        if paths.database is None:  # --database and $IMSH_DATABASE win over the file
            paths = replace(paths, database=settings.database)
    elif settings.database is not None:
        paths = replace(paths, db=paths.root / settings.database)
    if settings.log_directory is not None:
        paths = replace(paths, log_dir=paths.root / settings.log_directory)
    return paths


def state_argument(settings: Settings, state: str | None,
                   env: Mapping[str, str] | None = None) -> str | None:
    """The ``--state`` the rest of the shell should use: the explicit one, else the file's
    ``state_directory`` unless ``$IMSH_HOME`` is set."""
    environ = os.environ if env is None else env
    if state or environ.get(STATE_DIR_ENV) or settings.state_directory is None:
        return state
    return str(settings.state_directory)


# --- the settings of this process ------------------------------------------------------------

_active = Settings()


def activate(settings: Settings) -> None:
    """Make ``settings`` the ones this imsh process uses (shell/wiring.py, once at start)."""
    global _active
    _active = settings


def active() -> Settings:
    return _active


def paths_for(state: str | None) -> StatePaths:
    """The state paths of ``state`` under the active settings."""
    return state_paths(_active, state)
