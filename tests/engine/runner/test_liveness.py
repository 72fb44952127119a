"""Which lease owners are provably dead: the pure decision with literal inputs, and /proc."""

from __future__ import annotations

import os
from pathlib import Path

from engine.runner.liveness import (
    UNKNOWN,
    OwnerId,
    owner_dead,
    owner_name,
    parse_owner,
    provably_dead,
    read_process_start,
)


def test_owner_names_round_trip() -> None:
    assert parse_owner(owner_name("vm", 42, 777, "ab12cd34")) == OwnerId("vm", 42, 777)
    assert parse_owner("vm:42:ab12cd34") == OwnerId("vm", 42, None)  # the older form
    assert parse_owner("shell-launch") is None
    assert parse_owner("vm:notapid:1:x") is None


def test_a_gone_pid_on_this_host_is_dead() -> None:
    assert provably_dead(OwnerId("vm", 42, 777), "vm", None)


def test_a_reused_pid_is_dead() -> None:
    assert provably_dead(OwnerId("vm", 42, 777), "vm", 901)


def test_the_same_process_is_alive() -> None:
    assert not provably_dead(OwnerId("vm", 42, 777), "vm", 777)


def test_another_host_is_never_judged() -> None:
    assert not provably_dead(OwnerId("other", 42, 777), "vm", None)


def test_an_old_style_owner_with_a_live_pid_is_alive() -> None:
    assert not provably_dead(OwnerId("vm", 42, None), "vm", 901)


def test_a_host_that_cannot_tell_judges_nobody() -> None:
    assert not provably_dead(OwnerId("vm", 42, 777), "vm", UNKNOWN)


def test_owner_dead_asks_the_lookup_only_for_this_host() -> None:
    asked: list[int] = []

    def lookup(pid: int) -> int | None:
        asked.append(pid)
        return None

    assert owner_dead("vm:42:777:x", lookup, host="vm")
    assert not owner_dead("other:43:777:x", lookup, host="vm")
    assert asked == [42]


def test_proc_gives_this_process_a_start_time_and_a_missing_pid_none(tmp_path: Path) -> None:
    start = read_process_start(os.getpid())
    assert isinstance(start, int) and start > 0
    assert read_process_start(os.getpid()) == start
    assert read_process_start(2**22 + 12345) is None  # above pid_max
    assert read_process_start(1, proc=tmp_path) == UNKNOWN  # no /proc here


def test_a_zombie_counts_as_gone(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "stat").write_text("1 (x) S")
    (tmp_path / "77").mkdir()
    fields = ["Z"] + ["0"] * 18 + ["5555"] + ["0"] * 10
    (tmp_path / "77" / "stat").write_text("77 (a (b) c) " + " ".join(fields))
    assert read_process_start(77, proc=tmp_path) is None
    fields[0] = "S"
    (tmp_path / "77" / "stat").write_text("77 (a (b) c) " + " ".join(fields))
    assert read_process_start(77, proc=tmp_path) == 5555
