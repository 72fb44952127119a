"""The per-command deadline rule and connection groups, with literal inputs and fakes."""

from __future__ import annotations

from engine.imap.deadline import ConnectionGroup, Deadlines, Meter, command_overdue


def test_the_budget_is_a_base_plus_bytes_at_the_minimum_rate() -> None:
    rule = Deadlines(base=120, min_rate=16 * 1024)
    assert rule.budget(0) == 120
    assert rule.budget(1024 * 1024) == 120 + 64
    assert not command_overdue(rule, 183.0, 1024 * 1024)
    assert command_overdue(rule, 185.0, 1024 * 1024)


def test_a_trickle_spends_the_base_alone() -> None:
    rule = Deadlines(base=3, min_rate=16 * 1024)
    assert command_overdue(rule, 3.5, 3)  # three bytes in 3.5 s


class _FakeImap:
    def __init__(self) -> None:
        self.tagged_commands: dict[bytes, object] = {}
        self.sock = None


def test_an_idle_connection_is_never_overdue() -> None:
    meter = Meter(_FakeImap(), Deadlines(base=1, min_rate=1), "fake")
    meter.check(0.0)
    meter.check(100.0)
    assert meter.aborted is None


def test_a_command_waiting_past_its_budget_is_aborted() -> None:
    imap = _FakeImap()
    meter = Meter(imap, Deadlines(base=1, min_rate=1000), "fake")
    imap.tagged_commands[b"A1"] = None  # sent, no tagged reply yet
    meter.check(10.0)  # first seen busy: timing starts
    meter.check(10.5)
    assert meter.aborted is None
    meter.check(11.5)
    assert meter.aborted is not None and "deadline of 1 s" in meter.aborted


def test_a_literal_in_flight_extends_the_budget() -> None:
    imap = _FakeImap()
    meter = Meter(imap, Deadlines(base=1, min_rate=1000), "fake")
    imap.tagged_commands[b"A1"] = None
    meter.check(0.0)
    meter.in_flight = 10_000  # a 10 kB literal being read: 10 s more
    meter.check(10.0)
    assert meter.aborted is None
    meter.check(11.5)
    assert meter.aborted is not None


def test_a_group_aborts_its_members_and_later_joiners() -> None:
    group = ConnectionGroup()
    first = Meter(_FakeImap(), Deadlines(), "one")
    group.add(first)
    assert group.abort("stop requested") == 1
    assert first.aborted == "stop requested"
    late = Meter(_FakeImap(), Deadlines(), "two")
    group.add(late)
    assert late.aborted == "stop requested"


def test_a_closed_connection_is_left_alone() -> None:
    meter = Meter(_FakeImap(), Deadlines(), "closed")
    meter.closed = True
    meter.abort("too late")
    assert meter.aborted is None


def test_a_pass_may_take_a_base_per_folder_plus_its_bytes_at_the_minimum_rate() -> None:
    from engine.imap.deadline import pass_budget

    rule = Deadlines(base=120, min_rate=16 * 1024)
    assert pass_budget(rule, 0, 0) == 1200
    assert pass_budget(rule, 16 * 1024 * 100, 5) == 120 * 15 + 100
