"""Set-MigrationUser -CompleteAfter through the real session: stored in UTC, shown in the
batch's time zone, cleared by $null, refused on a completed user; and the runner's marking
(engine/service/delays.py) on the real state store, with the users' statuses written in
(fault injection; tests/integration/test_user_complete_after_flow.py syncs for real)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from engine.model import MigrationUserStatus as U
from engine.paths import resolve_state_paths
from engine.runner.housekeeping import settle_stops
from engine.service.delays import complete_due_batches, complete_due_users
from engine.store import Store
from engine.transitions import BatchPhase
from tests.cmdlets.conftest import Shell

BEFORE = datetime(2029, 12, 31, tzinfo=UTC)
AFTER = datetime(2030, 1, 2, tzinfo=UTC)


def open_store(shell: Shell) -> Store:
    return Store.open(resolve_state_paths(str(shell.tmp / "state")))


def new_batch(shell: Shell, extra: str = "") -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}")) {extra}')


def synced_and_running(shell: Shell, **statuses: U) -> None:
    """The batch running and its users in the given statuses, as a runner leaves them."""
    with open_store(shell) as store:
        batch = store.batches.get("B1")
        store.batches.update(replace(batch, status=str(BatchPhase.Active)))
        for name, status in statuses.items():
            user = store.users.get(f"{name}@contoso.com")
            store.users.set_status(user.id, str(status), "Synced", None)


def test_a_users_complete_after_is_read_and_shown_in_its_batch_time_zone(
        shell: Shell) -> None:
    new_batch(shell, '-TimeZone "Tokyo Standard Time"')
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-01 09:00"')
    out = shell.ok("Get-MigrationUser ann@contoso.com | Format-List CompleteAfter,"
                   "CompleteAfterUTC")
    assert out.strip().splitlines() == ["CompleteAfter    : 1/1/2030 9:00:00 AM",
                                        "CompleteAfterUTC : 1/1/2030 12:00:00 AM"]
    out = shell.ok("Get-MigrationUserStatistics ann@contoso.com | Format-List CompleteAfter")
    assert out.strip() == "CompleteAfter : 1/1/2030 9:00:00 AM"
    out = shell.ok("Get-MigrationUser bob@contoso.com | Format-List CompleteAfter")
    assert out.strip() == "CompleteAfter :"  # bob follows the batch


def test_null_clears_a_users_complete_after(shell: Shell) -> None:
    new_batch(shell)
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-01 09:00Z"')
    shell.ok("Set-MigrationUser -Identity ann@contoso.com -CompleteAfter $null")
    assert shell.ok("Get-MigrationUser ann@contoso.com | Format-List CompleteAfterUTC"
                    ).strip() == "CompleteAfterUTC :"
    synced_and_running(shell, ann=U.Synced, bob=U.Synced)
    with open_store(shell) as store:
        assert complete_due_users(store, AFTER) == []
        assert store.users.get("ann@contoso.com").status == U.Synced


def test_a_bad_complete_after_is_refused_and_nothing_is_stored(shell: Shell) -> None:
    new_batch(shell)
    _, err = shell.run('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "soon"')
    assert err.startswith("Set-MigrationUser :") and "CompleteAfter" in err
    assert "Traceback" not in err
    with open_store(shell) as store:
        ann = store.users.get("ann@contoso.com")
        assert store.user_settings.get(ann.id).complete_after is None


def test_a_synced_user_past_its_complete_after_completes_alone(shell: Shell) -> None:
    new_batch(shell)
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-01 00:00Z"')
    synced_and_running(shell, ann=U.Synced, bob=U.Synced)
    with open_store(shell) as store:
        assert complete_due_users(store, BEFORE) == []
        assert complete_due_users(store, AFTER) == ["ann@contoso.com"]
        ann, bob = store.users.get("ann@contoso.com"), store.users.get("bob@contoso.com")
        assert ann.status == U.Completing and ann.next_sync_due_at == AFTER
        assert bob.status == U.Synced  # the rest of the batch keeps syncing
        assert store.batches.get("B1").status == str(BatchPhase.Active)
        assert complete_due_users(store, AFTER) == []  # marked once
    out, _ = shell.run("Get-MigrationBatch B1 | Format-List Status")  # warns: no runner here
    assert out.strip() == "Status : Syncing"  # ann's final pass is work under way


def test_a_user_still_in_its_initial_sync_waits_for_it(shell: Shell) -> None:
    new_batch(shell)
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-01 00:00Z"')
    synced_and_running(shell, ann=U.Syncing, bob=U.Synced)
    with open_store(shell) as store:
        assert complete_due_users(store, AFTER) == []
        assert store.users.get("ann@contoso.com").status == U.Syncing


def test_a_users_later_complete_after_holds_the_batches_completion(shell: Shell) -> None:
    new_batch(shell, '-CompleteAfter "2030-01-01 00:00Z"')
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-05 00:00Z"')
    synced_and_running(shell, ann=U.Synced, bob=U.Synced)
    with open_store(shell) as store:
        assert complete_due_batches(store, AFTER) == []  # ann's later time overrides
        assert complete_due_users(store, AFTER) == ["bob@contoso.com"]  # the batch's time
        assert store.users.get("ann@contoso.com").status == U.Synced
        assert complete_due_users(store, datetime(2030, 1, 5, tzinfo=UTC)) == [
            "ann@contoso.com"]


def test_a_batch_whose_every_user_completed_alone_is_completed(shell: Shell) -> None:
    new_batch(shell)
    synced_and_running(shell, ann=U.Completed, bob=U.Completed)
    out = shell.ok("Get-MigrationBatch B1 | Format-List Status")
    assert out.strip() == "Status : Completed"


def test_a_completed_users_complete_after_cannot_be_changed(shell: Shell) -> None:
    new_batch(shell)
    synced_and_running(shell, ann=U.Completed, bob=U.Synced)
    _, err = shell.run('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter '
                       '"2030-01-01 00:00Z"')
    assert ('The migration user "ann@contoso.com" has already been completed (status '
            "Completed); its CompleteAfter can't be changed.") in err
    with open_store(shell) as store:
        ann = store.users.get("ann@contoso.com")
        assert store.user_settings.get(ann.id).complete_after is None


def test_a_batch_stopped_before_the_final_pass_began_settles_stopped(shell: Shell) -> None:
    new_batch(shell)
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "2030-01-01 00:00Z"')
    synced_and_running(shell, ann=U.Synced, bob=U.Synced)
    with open_store(shell) as store:
        assert complete_due_users(store, AFTER) == ["ann@contoso.com"]
        batch = store.batches.get("B1")  # Stop-MigrationBatch, before any runner claimed ann
        store.batches.update(replace(batch, status=str(BatchPhase.Stopping)))
        settle_stops(store, AFTER)
        assert store.users.get("ann@contoso.com").status == U.Stopped  # no longer Completing
    out, _ = shell.run("Get-MigrationBatch B1 | Format-List Status")
    assert out.strip() == "Status : Stopped"  # not Stopping for ever
