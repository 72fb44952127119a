"""``imsh -c`` starts without importing what the line does not use (issue 17, start-up).

Not a timing test: the real console script runs with ``PYTHONPROFILEIMPORTTIME`` and the test
reads which modules it imported. The engine, the cmdlet modules and the heavy libraries are
imported the first time a cmdlet needs them (cmdlets/registry.py, shell/cmdlet_index.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cmdlets.registry import Provider, Registry
from shell.cmdlet_index import PROVIDERS

# Each of these took tens of milliseconds to hundreds at start-up before the index existed.
HEAVY = ("exchangelib", "cryptography", "imapclient", "cmd2", "yaml", "tabulate", "ssl",
         "sqlite3", "email", "psycopg", "requests", "engine.service", "engine.store",
         "engine.runner", "cmdlets.migration", "shell.builtins.everyday", "shell.dashboard")

_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.M)


def imsh_console_script() -> str:
    beside = Path(sys.executable).with_name("imsh")
    return str(beside) if beside.exists() else shutil.which("imsh") or "imsh"


def imported_by(line: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "IMSH_HOME": str(tmp_path / "state"), "PYTHONPROFILEIMPORTTIME": "1"}
    env.pop("IMSH_CONFIG", None)
    result = subprocess.run([imsh_console_script(), "-c", line], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    return result, set(_IMPORTED.findall(result.stderr))


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_a_one_line_assignment_imports_no_engine_cmdlet_module_or_heavy_library(
        tmp_path: Path) -> None:
    result, modules = imported_by("$x=1; $x + 1", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "2"
    assert "shell.session" in modules  # the import list was read at all
    assert heavy_among(modules) == []
    assert not (tmp_path / "state").exists()  # and the state was not opened either


def test_a_migration_cmdlet_is_still_found_and_imports_its_module_when_called(
        tmp_path: Path) -> None:
    result, modules = imported_by(
        "(Get-Command -Name Get-MigrationBatch).Name; Get-MigrationBatch | Measure-Object "
        "| ForEach-Object Count", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["Get-MigrationBatch", "0"]
    # (a module imported through importlib.import_module has no line of its own; the modules
    # it imports do)
    assert {"cmdlets.migration.records", "engine.service.batches"} <= modules
    assert "exchangelib" not in modules  # only an EWS endpoint needs it


def test_the_index_names_exactly_the_cmdlets_and_aliases_each_module_declares() -> None:
    for provider in PROVIDERS:
        declared = tuple((cls.name, tuple(cls.aliases)) for cls in provider.load())
        assert provider.names == declared, (
            f"shell/cmdlet_index.py is out of date for {provider.module}; the entry should be "
            f"names={declared!r}")


def test_the_registry_lists_names_and_aliases_without_importing_and_imports_on_lookup(
) -> None:
    loads: list[str] = []

    class Counting(Provider):
        def load(self) -> tuple[type, ...]:
            loads.append(self.module)
            return super().load()

    registry = Registry(providers=[
        Counting("shell.builtins.pipeline", "PIPELINE_CMDLETS",
                 next(p.names for p in PROVIDERS if p.module == "shell.builtins.pipeline")),
        Counting("shell.builtins.aggregate", "AGGREGATE_CMDLETS",
                 next(p.names for p in PROVIDERS if p.module == "shell.builtins.aggregate")),
    ])
    assert "Where-Object" in registry.names() and registry.aliases()["sort"] == "Sort-Object"
    assert len(registry) == 6 and loads == []
    found = registry.find("FOREACH")
    assert found is not None and found.name == "ForEach-Object"
    assert loads == ["shell.builtins.pipeline"]
    assert registry.find("No-SuchThing") is None and loads == ["shell.builtins.pipeline"]
    assert [cls.name for cls in registry][:2] == ["ForEach-Object", "Group-Object"]
    assert loads == ["shell.builtins.pipeline", "shell.builtins.aggregate"]
    assert len(registry) == 6 and registry.find("sort") is not None


# What reaches a server or runs a pass: a cmdlet that reads or changes the state needs none of
# it, and each took its share of the 0.35 s the engine cost a cmdlet before it was imported
# where used (engine/service/engine.py, engine/endpoints.py, engine/runner/__init__.py).
SYNC_AND_SERVERS = ("engine.sync.executor", "engine.sync.planner", "engine.imap.source",
                    "engine.targets.imap", "engine.targets.maildir", "engine.verify.compare",
                    "engine.runner.jobs", "engine.runner.runner", "engine.service.proofs",
                    "engine.service.availability", "engine.service.preview",
                    "engine.notify.schedule", "engine.notify.smtp", "smtplib",
                    # ~50 ms of every such cmdlet until the session's plain values moved to
                    # engine/imap/settings.py and SyncKind to engine/model.py
                    "imapclient", "imaplib", "engine.imap.connection", "engine.sync.model")


def test_a_cmdlet_reading_the_state_imports_no_sync_engine_server_client_or_verifier(
        tmp_path: Path) -> None:
    result, modules = imported_by("Get-MigrationBatch | Measure-Object | ForEach-Object Count",
                                  tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0"]
    assert "engine.service.batches" in modules  # the import list was read at all
    assert sorted(set(SYNC_AND_SERVERS) & modules) == []


def test_the_runner_starts_without_the_language_or_the_cmdlets(tmp_path: Path) -> None:
    env = {**os.environ, "IMSH_HOME": str(tmp_path / "state"), "PYTHONPROFILEIMPORTTIME": "1",
           "IMSH_RUNNER_KEEP_ALIVE": "0"}
    env.pop("IMSH_CONFIG", None)
    result = subprocess.run([imsh_console_script(), "service", "--until-idle"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    modules = set(_IMPORTED.findall(result.stderr))
    assert result.returncode == 0, result.stderr[-2000:]
    # it did load the runner (engine.runner.runner itself comes through import_module, which
    # gives it no line of its own; the modules it imports do)
    assert "engine.runner.passes" in modules
    assert sorted(m for m in modules if m.startswith(("shell.lang", "cmdlets."))
                  or m == "shell.session") == []
    # nor the proofs' comparer and readers, nor the mail machinery: they load with the first
    # proof and the first round for a batch with -NotificationEmails
    # (engine/service/auto_proofs.py, engine/runner/notifications.py)
    assert sorted(m for m in modules if m.startswith(("engine.verify", "engine.notify"))
                  or m in ("engine.service.proofs", "smtplib")) == []
