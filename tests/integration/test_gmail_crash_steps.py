"""Crash safety of the copies made on the target (engine/sync/target_copy.py): an incremental
pass over a Gmail-shaped source under EveryLabel, after labels changed (one added, one
removed, one message's last label removed), stopped after each side-effecting step in turn
(the step hook raises SimulatedCrash, as a kill at that instant would) and resumed: the target
ends with every copy the policy asks for exactly once, nothing lost, nothing duplicated, and
every row recorded as copied."""

from __future__ import annotations

import pytest

from engine.runner.jobs import OutcomeKind, SyncKind
from engine.sync.faults import CrashAtStep, SimulatedCrash
from engine.sync.gmail_labels import EVERY_LABEL, POLICY_KEY
from tests.integration.syncenv import SyncEnv
from tests.support.gmail import add_label, fill_gmail, remove_label, subjects_by_folder
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]

AFTER = {  # tests/support/gmail.py's EXAMPLE after change(); Work is left empty
    "INBOX": [("b", False)],
    "Work/ProjectX": [("b", False)],
    "Sent": [("c", False)],
    "Trash": [("e", False)],
    "Archive": [("a", True), ("d", False)],
}


def change(gmail: ImapServer, user: str) -> None:
    add_label(gmail, user, "b", "INBOX")  # a copy made from Work/ProjectX's, on the target
    remove_label(gmail, user, "b", "Work")  # that copy deleted
    remove_label(gmail, user, "a", "Work")  # a keeps INBOX: Work's copy deleted ...
    remove_label(gmail, user, "a", "INBOX")  # ... and INBOX's moves to Archive


def test_a_crash_at_any_step_of_a_label_change_pass_loses_and_duplicates_nothing(
    dovecot_target: ImapServer
) -> None:
    gmail = start_dovecot(nusers=1, special_use="gmail")
    try:
        gmail.add_users(12)
        dovecot_target.add_users(12)
        at, total = 0, None
        while total is None or at < total:
            at += 1
            user, target_user = gmail.fresh_user(), dovecot_target.fresh_user()
            fill_gmail(gmail, user)
            env = SyncEnv(gmail, user, dovecot_target, target_user,
                          batch_extra={POLICY_KEY: EVERY_LABEL})
            try:
                assert env.run().kind is OutcomeKind.ok
                change(gmail, user)
                hook = CrashAtStep(at)
                try:
                    env.run(SyncKind.incremental, workers=1, hook=hook)
                    total = hook.count  # no crash: ``at`` is past the last step
                except SimulatedCrash:
                    resumed = env.run(SyncKind.incremental, workers=1)
                    assert resumed.kind is OutcomeKind.ok, resumed.message
                assert subjects_by_folder(dovecot_target, target_user) == AFTER, (
                    f"step {at} ({hook.steps[-1] if hook.steps else '-'})")
                with env.open_store() as store:
                    states = store.messages.count_by_state(env.user_id)
                assert set(states) <= {"copied", "deleted"}, f"step {at}: {states}"
                assert states.get("copied") == 6, f"step {at}: {states}"
            finally:
                env.cleanup()
        assert total is not None and total > 5
    finally:
        gmail.stop()
