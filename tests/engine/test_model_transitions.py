"""The status vocabulary and the batch state machine (engine.model, engine.transitions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidStateError, ValidationError
from engine.model import (
    BatchCounts,
    BatchStatus,
    DataConsistencyScore,
    IMAPSecurityMechanism,
    MigrationUserStatus,
    MigrationUserStatusSummary,
    count_users,
    parse_enum,
    status_summary,
    worst_score,
)
from engine.transitions import (
    BatchAction,
    BatchPhase,
    StartKind,
    batch_status_from_users,
    check_complete,
    check_remove,
    check_set,
    check_start,
    check_stop,
    check_sync_and_complete,
    check_sync_now,
    check_user_remove,
    check_user_start,
    check_user_stop,
)

B = BatchStatus
U = MigrationUserStatus

# --- the enumerations: Exchange's spellings, in Exchange's order ------------------------------


def test_batch_status_values_are_exchanges_enum_in_order() -> None:
    assert [s.value for s in BatchStatus] == [
        "Created", "Syncing", "Stopping", "Stopped", "Completed", "Failed", "Removing",
        "Synced", "IncrementalSyncing", "Completing", "CompletedWithErrors",
        "SyncedWithErrors", "Corrupted", "Waiting", "Starting",
    ]


def test_user_status_values_are_exchanges_enum_in_order() -> None:
    assert [s.value for s in MigrationUserStatus] == [
        "Queued", "Syncing", "Failed", "Synced", "IncrementalFailed", "Completing",
        "Completed", "CompletionFailed", "Corrupted", "Provisioning", "ProvisionUpdating",
        "CompletionSynced", "Validating", "IncrementalSyncing", "IncrementalSynced",
        "CompletedWithWarnings", "Stopped", "IncrementalStopped", "Starting", "Stopping",
        "Removing",
    ]


def test_security_values_print_as_exchange_spells_them() -> None:
    assert [str(s) for s in IMAPSecurityMechanism] == ["None", "Ssl", "Tls"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SyncedwithErrors", B.SyncedWithErrors),  # the docs' own spelling
        ("syncing", B.Syncing),
        ("  COMPLETED ", B.Completed),
    ],
)
def test_parse_enum_ignores_case_like_powershell(text: str, expected: BatchStatus) -> None:
    assert parse_enum(BatchStatus, text) is expected


def test_parse_enum_none_is_the_security_value_not_python_none() -> None:
    assert parse_enum(IMAPSecurityMechanism, "none") is IMAPSecurityMechanism.NONE


def test_parse_enum_failure_lists_the_valid_names() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_enum(IMAPSecurityMechanism, "Starttls")
    assert caught.value.message == (
        "Unable to match the identifier name Starttls to a valid enumerator name. "
        "Specify one of the following enumerator names and try again: None, Ssl, Tls"
    )


SUMMARY = MigrationUserStatusSummary


@pytest.mark.parametrize(
    ("status", "summary"),
    [
        (U.Validating, SUMMARY.Active),
        (U.Provisioning, SUMMARY.Active),
        (U.ProvisionUpdating, SUMMARY.Active),
        (U.Queued, SUMMARY.Active),
        (U.Syncing, SUMMARY.Active),
        (U.Completing, SUMMARY.Active),
        (U.Starting, SUMMARY.Active),
        (U.Stopping, SUMMARY.Active),
        (U.Removing, SUMMARY.Active),
        (U.Synced, SUMMARY.Synced),
        (U.IncrementalSyncing, SUMMARY.Synced),
        (U.IncrementalSynced, SUMMARY.Synced),
        (U.CompletionSynced, SUMMARY.Synced),
        (U.Completed, SUMMARY.Completed),
        (U.Failed, SUMMARY.Failed),
        (U.IncrementalFailed, SUMMARY.Failed),
        (U.CompletionFailed, SUMMARY.Failed),
        (U.CompletedWithWarnings, SUMMARY.Failed),
        (U.Corrupted, SUMMARY.Failed),
        (U.Stopped, SUMMARY.Stopped),
        (U.IncrementalStopped, SUMMARY.Stopped),
    ],
)
def test_status_summary_follows_exchange(
    status: MigrationUserStatus, summary: MigrationUserStatusSummary
) -> None:
    assert status_summary(status) is summary


def test_count_users_counts_by_summary_and_pending() -> None:
    counts = count_users([U.Queued, U.Syncing, U.Synced, U.Failed, U.Stopped, U.Completed])
    assert counts == BatchCounts(
        total=6, active=2, stopped=1, synced=1, finalized=1, failed=1, pending=1
    )


def test_worst_score_is_the_batch_score() -> None:
    score = DataConsistencyScore
    assert worst_score([score.Good, score.Poor, score.Perfect]) is score.Poor
    assert worst_score([]) is score.Perfect


# --- which batch operations are allowed from which status --------------------------------------

# Written out by hand from reference/ms-cmdlets.md A7, A9-A12 (see docs/status-model.md), one
# row per status: Start, Stop, Complete, Remove, Set.
TABLE: dict[BatchStatus, tuple[bool, bool, bool, bool, bool]] = {
    B.Created: (True, False, False, True, True),
    B.Starting: (True, True, False, False, True),
    B.Waiting: (True, True, False, False, True),
    B.Syncing: (True, True, False, False, True),
    B.IncrementalSyncing: (True, True, True, True, True),
    B.Synced: (True, True, True, True, True),
    B.SyncedWithErrors: (True, True, True, True, True),
    B.Stopping: (False, False, False, False, True),
    B.Stopped: (True, False, False, True, True),
    B.Failed: (True, False, False, True, True),
    B.Completing: (False, False, False, False, False),
    B.Completed: (False, False, False, True, False),
    B.CompletedWithErrors: (True, False, True, True, True),
    B.Removing: (False, False, False, False, False),
    B.Corrupted: (False, False, False, True, False),
}
CHECKS = {
    BatchAction.Start: check_start,
    BatchAction.Stop: check_stop,
    BatchAction.Complete: check_complete,
    BatchAction.Remove: check_remove,
    BatchAction.Set: check_set,
}
VERBS = {
    BatchAction.Start: "started",
    BatchAction.Stop: "stopped",
    BatchAction.Complete: "completed",
    BatchAction.Remove: "removed",
    BatchAction.Set: "changed",
}


def test_the_table_covers_every_status() -> None:
    assert set(TABLE) == set(BatchStatus)


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        (status, action, row[column])
        for status, row in TABLE.items()
        for column, action in enumerate(CHECKS)
    ],
)
def test_transition_table(status: BatchStatus, action: BatchAction, allowed: bool) -> None:
    check = CHECKS[action]
    if allowed:
        check(status, "B1")
        return
    with pytest.raises(InvalidStateError) as caught:
        check(status, "B1")
    assert caught.value.message.startswith(
        f'The migration batch "B1" can\'t be {VERBS[action]} because '
    )
    assert caught.value.message.endswith(f"(status {status}).")


@pytest.mark.parametrize(
    ("check", "status", "message"),
    [
        (check_start, B.Completed,
         'The migration batch "IMAPBatch1" can\'t be started because it\'s already completed '
         "(status Completed)."),
        (check_stop, B.Created,
         'The migration batch "IMAPBatch1" can\'t be stopped because it hasn\'t been started '
         "(status Created)."),
        (check_complete, B.Syncing,
         'The migration batch "IMAPBatch1" can\'t be completed because its mailboxes are being '
         "synchronized (status Syncing)."),
        (check_remove, B.Removing,
         'The migration batch "IMAPBatch1" can\'t be removed because it\'s being removed '
         "(status Removing)."),
        (check_stop, B.Failed,
         'The migration batch "IMAPBatch1" can\'t be stopped because all of its users failed '
         "(status Failed)."),
    ],
)
def test_refusal_messages(
    check: Callable[[BatchStatus, str], object], status: BatchStatus, message: str
) -> None:
    with pytest.raises(InvalidStateError) as caught:
        check(status, "IMAPBatch1")
    assert caught.value.message == message
    assert caught.value.category == "InvalidOperation"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (B.Created, StartKind.Start),
        (B.Stopped, StartKind.Resume),
        (B.Failed, StartKind.RetryFailed),
        (B.SyncedWithErrors, StartKind.RetryFailed),
        (B.CompletedWithErrors, StartKind.RetryFailed),
        (B.Synced, StartKind.RetryFailed),
    ],
)
def test_start_says_what_it_means(status: BatchStatus, kind: StartKind) -> None:
    assert check_start(status, "B") is kind


@pytest.mark.parametrize("status", list(BatchStatus))
def test_sync_now_only_while_active(status: BatchStatus) -> None:
    active = {B.Starting, B.Syncing, B.Synced, B.SyncedWithErrors, B.IncrementalSyncing}
    if status in active:
        check_sync_now(status, "B")
    else:
        with pytest.raises(InvalidStateError, match="can't be synchronized now"):
            check_sync_now(status, "B")


def test_sync_and_complete_needs_no_failed_or_stopped_users() -> None:
    check_sync_and_complete([U.Synced, U.IncrementalSynced], "B")
    with pytest.raises(InvalidStateError) as caught:
        check_sync_and_complete([U.Synced, U.Failed, U.Stopped, U.Corrupted], "B")
    assert caught.value.message == (
        'The migration batch "B" can\'t be synchronized and completed because 3 of its users '
        "are failed, corrupted or stopped. Start the batch to retry them, or remove them from "
        "the batch."
    )


# --- migration users ---------------------------------------------------------------------------

USER_START = {U.Stopped, U.IncrementalStopped, U.Failed, U.IncrementalFailed, U.CompletionFailed,
              U.Synced, U.IncrementalSynced}
USER_STOP = {U.Queued, U.Starting, U.Validating, U.Provisioning, U.ProvisionUpdating, U.Syncing,
             U.IncrementalSyncing, U.Synced, U.IncrementalSynced}
USER_REMOVE_REFUSED = {U.Removing, U.Completing, U.Stopping}


@pytest.mark.parametrize("status", list(MigrationUserStatus))
def test_user_transitions(status: MigrationUserStatus) -> None:
    for check, allowed in (
        (check_user_start, status in USER_START),
        (check_user_stop, status in USER_STOP),
        (check_user_remove, status not in USER_REMOVE_REFUSED),
    ):
        if allowed:
            check(status, "a@b.c")
        else:
            with pytest.raises(InvalidStateError, match=f"because its status is {status}\\.$"):
                check(status, "a@b.c")


def test_user_refusal_message() -> None:
    with pytest.raises(InvalidStateError) as caught:
        check_user_start(U.Syncing, "terrya@contoso.edu")
    assert caught.value.message == (
        'The migration user "terrya@contoso.edu" can\'t be started because its status is Syncing.'
    )


# --- the batch status follows from the users ---------------------------------------------------

P = BatchPhase


@pytest.mark.parametrize(
    ("phase", "users", "expected"),
    [
        (P.Created, [U.Queued, U.Queued], B.Created),
        (P.Active, [U.Queued, U.Starting], B.Starting),
        (P.Active, [U.Queued, U.Syncing], B.Syncing),
        (P.Active, [U.Synced, U.Queued], B.Syncing),
        (P.Active, [U.Synced, U.Syncing, U.Failed], B.Syncing),
        (P.Active, [U.Synced, U.IncrementalSyncing], B.IncrementalSyncing),
        (P.Active, [U.Synced, U.IncrementalSynced], B.Synced),
        (P.Active, [U.Synced, U.Failed], B.SyncedWithErrors),
        (P.Active, [U.IncrementalFailed, U.Synced], B.SyncedWithErrors),
        (P.Active, [U.Failed, U.Corrupted], B.Failed),
        (P.Active, [U.Synced, U.Stopped], B.Synced),
        (P.Active, [U.Stopped, U.IncrementalStopped], B.Stopped),
        (P.Active, [U.Synced, U.Removing], B.Synced),
        (P.Active, [], B.Synced),
        (P.Stopping, [U.Stopping, U.Stopped], B.Stopping),
        (P.Stopping, [U.Syncing, U.Stopped], B.Stopping),
        (P.Stopping, [U.Stopped, U.Failed, U.Synced], B.Stopped),
        (P.Completing, [U.Completing, U.Completed], B.Completing),
        (P.Completing, [U.Synced, U.Completed], B.Completing),
        (P.Completing, [U.Completed, U.Completed], B.Completed),
        (P.Completing, [U.Completed, U.CompletionFailed], B.CompletedWithErrors),
        (P.Completing, [U.Completed, U.CompletedWithWarnings], B.CompletedWithErrors),
        (P.Completing, [U.CompletionFailed, U.Failed], B.Failed),
        (P.Removing, [U.Syncing], B.Removing),
    ],
)
def test_batch_status_from_users(
    phase: BatchPhase, users: list[MigrationUserStatus], expected: BatchStatus
) -> None:
    assert batch_status_from_users(phase, users) is expected


user_lists = st.lists(st.sampled_from(list(MigrationUserStatus)), max_size=12)


@given(st.sampled_from(list(BatchPhase)), user_lists)
def test_batch_status_ignores_user_order(
    phase: BatchPhase, users: list[MigrationUserStatus]
) -> None:
    assert batch_status_from_users(phase, users) is batch_status_from_users(
        phase, list(reversed(users))
    )


@given(user_lists)
def test_an_active_batch_shows_an_active_or_settled_status(
    users: list[MigrationUserStatus],
) -> None:
    status = batch_status_from_users(BatchPhase.Active, users)
    done = {MigrationUserStatus.Completed, MigrationUserStatus.CompletedWithWarnings}
    staying = [s for s in users if s is not MigrationUserStatus.Removing]  # on their way out
    if staying and all(s in done for s in staying):  # completed one by one (CompleteAfter)
        assert status in {B.Completed, B.CompletedWithErrors}
        return
    assert status in {B.Starting, B.Syncing, B.IncrementalSyncing, B.Synced,
                      B.SyncedWithErrors, B.Failed, B.Stopped}


@given(user_lists)
def test_a_stopping_batch_ends_stopped_once_nobody_runs(
    users: list[MigrationUserStatus],
) -> None:
    running = {U.Queued, U.Starting, U.Validating, U.Provisioning, U.ProvisionUpdating,
               U.Syncing, U.IncrementalSyncing, U.Stopping, U.Completing}
    expected = B.Stopping if running & set(users) else B.Stopped
    assert batch_status_from_users(BatchPhase.Stopping, users) is expected
