"""The executor's real order of a folder plan's stages (engine/sync/apply.py ``STAGES``), as
the in-memory simulation runs it: a source UIDVALIDITY reset together with a vanished message
must re-key the survivors without two rows ever holding one source UID (Step 8.1)."""

from __future__ import annotations

from engine.sync.apply import DELETE, REKEY, STAGES
from engine.sync.model import SyncKind
from tests.engine.sync.simulation import World


def test_deletions_free_their_uids_before_the_rekeying() -> None:
    assert STAGES.index(DELETE) < STAGES.index(REKEY)


def test_reset_folder_with_a_vanished_message_converges() -> None:
    world = World()
    world.add_folder("INBOX")
    for fp in ("a", "b", "c"):
        world.deliver("Archive", fp)
    assert world.run_pass(SyncKind.initial)
    world.expunge("Archive", 3)  # "c" vanished ...
    world.renumber("Archive")  # ... and the folder was reset: "b" is UID 1 now, "a" UID 2
    assert world.run_pass(SyncKind.incremental)
    assert world.actual_target() == world.expected_target()
    assert world.plan(SyncKind.incremental).is_empty


def test_reset_folder_with_a_vanished_message_converges_after_any_crash() -> None:
    for crash_at in range(12):
        world = World()
        world.add_folder("INBOX")
        for fp in ("a", "b", "c"):
            world.deliver("Archive", fp)
        assert world.run_pass(SyncKind.initial)
        world.expunge("Archive", 1)
        world.renumber("Archive")
        world.run_pass(SyncKind.incremental, crash_at)
        assert world.run_pass(SyncKind.incremental), crash_at
        assert world.actual_target() == world.expected_target(), crash_at
