"""-IncrementalSyncInterval on New-/Set-MigrationBatch and Set-MigrationConfig, through the real
session: what the runner reads afterwards, what Get-* shows, and refusals that change nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.paths import resolve_state_paths
from engine.runner.intervals import batch_interval, configured_interval
from engine.store import Store
from tests.cmdlets.conftest import Shell

ENDPOINT = ("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
            "-SkipVerification")


def new_batch(shell: Shell, name: str, extra: str = "") -> tuple[str, str]:
    return shell.run(f"New-MigrationBatch -Name {name} -SourceEndpoint Src -CSVData "
                     f"([System.IO.File]::ReadAllBytes('{shell.tmp / 'users.csv'}')) {extra}")


@pytest.fixture
def state(shell: Shell) -> Iterator[Shell]:
    shell.ok(ENDPOINT)
    yield shell


def runner_sees(shell: Shell, batch: str) -> timedelta:
    """The interval the runner applies to ``batch``, read from the state as it reads it."""
    with Store.open(resolve_state_paths(shell.tmp / "state")) as store:
        return batch_interval(store, store.batches.get(batch))


def configured(shell: Shell) -> timedelta:
    with Store.open(resolve_state_paths(shell.tmp / "state")) as store:
        return configured_interval(store.config)


def shown(shell: Shell, command: str) -> str:
    """The IncrementalSyncInterval line of ``command | Format-List *``."""
    listed = shell.ok(f"{command} | Format-List *")
    lines = [line for line in listed.splitlines() if line.startswith("IncrementalSyncInterval ")]
    assert len(lines) == 1, listed
    return lines[0].split(" : ", 1)[1].strip()


def rows(shell: Shell) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(shell.tmp / "state" / "state.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_new_batch_stores_the_interval_the_runner_uses(state: Shell) -> None:
    out, err = new_batch(state, "B1", "-IncrementalSyncInterval 06:00:00")
    assert err == "" and "B1" in out
    assert runner_sees(state, "B1") == timedelta(hours=6)
    assert shown(state, "Get-MigrationBatch B1") == "06:00:00"
    assert state.ok("(Get-MigrationBatch B1).IncrementalSyncInterval.TotalHours").strip() == "6"


def test_set_batch_takes_powershell_forms_and_null_follows_the_config(state: Shell) -> None:
    new_batch(state, "B1")
    assert shown(state, "Get-MigrationBatch B1") == "1.00:00:00"
    state.ok("Set-MigrationBatch B1 -IncrementalSyncInterval '1.00:00:00'")
    assert runner_sees(state, "B1") == timedelta(days=1)
    state.ok("Set-MigrationBatch -Identity B1 -IncrementalSyncInterval 00:30:00")
    assert runner_sees(state, "B1") == timedelta(minutes=30)
    state.ok("Set-MigrationBatch B1 -IncrementalSyncInterval ([TimeSpan]'02:00:00')")
    assert runner_sees(state, "B1") == timedelta(hours=2)
    state.ok("$t = (Get-MigrationBatch B1).IncrementalSyncInterval; "
             "Set-MigrationConfig -IncrementalSyncInterval $t")
    assert configured(state) == timedelta(hours=2)

    state.ok("Set-MigrationConfig -IncrementalSyncInterval '12:00:00'")
    assert runner_sees(state, "B1") == timedelta(hours=2)  # the batch's own wins
    state.ok("Set-MigrationBatch B1 -IncrementalSyncInterval $null")
    assert runner_sees(state, "B1") == timedelta(hours=12)
    assert shown(state, "Get-MigrationBatch B1") == "12:00:00"


def test_set_config_sets_and_null_restores_the_default(state: Shell) -> None:
    new_batch(state, "B1")
    assert shown(state, "Get-MigrationConfig") == "1.00:00:00"
    state.ok("Set-MigrationConfig -IncrementalSyncInterval '00:30:00'")
    assert configured(state) == timedelta(minutes=30)
    assert runner_sees(state, "B1") == timedelta(minutes=30)
    assert shown(state, "Get-MigrationConfig") == "00:30:00"
    assert shown(state, "Get-MigrationBatch B1") == "00:30:00"
    state.ok("Set-MigrationConfig -IncrementalSyncInterval $null")
    assert configured(state) == timedelta(hours=24)


RANGE = ("isn't valid. Enter a time span of whole seconds from 00:00:01 to 365.00:00:00")
BAD = [
    ("0", 'The value "00:00:00" of parameter IncrementalSyncInterval ' + RANGE),
    ("'00:00:00'", 'The value "00:00:00" of parameter IncrementalSyncInterval ' + RANGE),
    ("'-01:00:00'", 'The value "-01:00:00" of parameter IncrementalSyncInterval ' + RANGE),
    ("'366.00:00:00'", 'The value "366.00:00:00" of parameter IncrementalSyncInterval ' + RANGE),
    ("'00:00:01.5'", 'The value "00:00:01.5000000" of parameter IncrementalSyncInterval ' + RANGE),
    ("garbage", "Cannot bind parameter 'IncrementalSyncInterval'. Cannot convert value "
                '"garbage" to type "System.TimeSpan". Error: "Input string was not in a '
                'correct format."'),
]
COMMANDS = {
    "set-batch": "Set-MigrationBatch B1 -NotificationEmails admin@contoso.com "
                 "-IncrementalSyncInterval {0}",
    "set-config": "Set-MigrationConfig -MaxNumberOfBatches 5 -IncrementalSyncInterval {0}",
    "new-batch": "New-MigrationBatch -Name B2 -SourceEndpoint Src -CSVData "
                 "([System.IO.File]::ReadAllBytes('{csv}')) -IncrementalSyncInterval {0}",
}


@pytest.mark.parametrize(("value", "message"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_bad_interval_is_a_clear_error_and_changes_nothing(
        state: Shell, command: str, value: str, message: str) -> None:
    new_batch(state, "B1", "-IncrementalSyncInterval 06:00:00")
    state.ok("Set-MigrationConfig -IncrementalSyncInterval 08:00:00")
    before = rows(state)
    line = COMMANDS[command].format(value, csv=state.tmp / "users.csv")

    out, err = state.run(line)

    cmdlet = line.split(" ", 1)[0]
    assert err.startswith(f"{cmdlet} : {message}"), err
    assert "Traceback" not in err and out == ""
    assert rows(state) == before
    assert (runner_sees(state, "B1"), configured(state)) == (timedelta(hours=6),
                                                             timedelta(hours=8))


def test_help_names_the_parameter_on_all_three_cmdlets(state: Shell) -> None:
    for cmdlet in ("New-MigrationBatch", "Set-MigrationBatch", "Set-MigrationConfig"):
        text = state.ok(f"Get-Help {cmdlet} -Parameter IncrementalSyncInterval")
        assert "-IncrementalSyncInterval" in text and "imsh" in text
