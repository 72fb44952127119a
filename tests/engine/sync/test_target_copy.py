"""Which copies the target makes from a copy it holds (engine/sync/target_copy.py), on
literal inputs."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.sync.model import Copy
from engine.sync.target_copy import Holder, flag_delta, split

WHEN = datetime(2024, 3, 1, tzinfo=UTC)


def copy(uid: int, fingerprint: str) -> Copy:
    return Copy(uid, fingerprint, 100, frozenset({"\\Seen"}), WHEN)


def test_copies_another_folder_holds_are_grouped_by_that_folder_the_rest_appended() -> None:
    holders = {"fa": Holder(("Work",), "7:1", "\\Seen"),
               "fb": Holder(("Work",), "7:2", ""),
               "fc": Holder(("INBOX",), "3:9", ""),
               "fd": Holder(("Here",), "5:5", "")}  # this very folder: no copy from itself
    within, rest = split([copy(1, "fa"), copy(2, "fb"), copy(3, "fc"), copy(4, "fd"),
                          copy(5, "fe")], holders, ("Here",))
    assert {path: [c.uid for c, _ in pairs] for path, pairs in within.items()} == {
        ("Work",): [1, 2], ("INBOX",): [3]}
    assert [c.uid for c in rest] == [4, 5]


def test_the_copys_flags_are_corrected_by_a_delta_from_the_holders() -> None:
    assert flag_delta("\\Seen \\Flagged", "\\Seen") == (["\\Flagged"], [])
    assert flag_delta("\\Seen", "\\Seen $Work") == ([], ["$Work"])
    assert flag_delta("", "") == ([], [])
