"""engine/service/pending.py: the warning when passes are due but no runner will run them,
and reviving a runner — real SQLite, an Engine with and without a launcher."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.runner.launcher import LAUNCH_RESOURCE, RUNNER_PREFIX
from engine.runner.liveness import new_owner, owner_name, this_host
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointRequest
from engine.store import Store

CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw\r\n"
MINUTE = timedelta(seconds=60)


def started(engine: Engine, source: str) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV))
    engine.start_batch("B1")


def notice(engine: Engine) -> str | None:
    return engine.runner_notice(engine.get_batches("B1")[0])


def test_started_batch_with_no_runner_and_no_launcher_is_warned_about(
        engine: Engine, source: str) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV))
    assert notice(engine) is None  # Created: nothing is due
    engine.start_batch("B1")
    text = notice(engine)
    assert text is not None
    assert text.startswith('The migration batch "B1" has passes due (the next at ')
    assert "no runner is running to perform them" in text and "imsh service install" in text


def test_no_warning_while_a_live_runner_serves_the_state_or_one_is_being_launched(
        engine: Engine, source: str) -> None:
    started(engine, source)
    me = new_owner()  # this test process: alive
    engine.store.leases.acquire(RUNNER_PREFIX + me, me, MINUTE)
    assert notice(engine) is None
    engine.store.leases.release(RUNNER_PREFIX + me, me)
    engine.store.leases.acquire(LAUNCH_RESOURCE, me, MINUTE)
    assert notice(engine) is None
    engine.store.leases.release(LAUNCH_RESOURCE, me)
    assert notice(engine) is not None


def test_a_dead_runners_lease_does_not_count_and_a_stopped_batch_needs_no_runner(
        engine: Engine, source: str) -> None:
    started(engine, source)
    dead = owner_name(this_host(), 999_999_999, 1, "dead")  # above any pid_max: not running
    engine.store.leases.acquire(RUNNER_PREFIX + dead, dead, MINUTE)
    assert notice(engine) is not None
    engine.stop_batch("B1")
    assert notice(engine) is None


def test_revive_asks_the_launcher_only_when_passes_are_due_and_no_runner_lives(
        tmp_path: Path) -> None:
    asked: list[str] = []
    with Engine.open(resolve_state_paths(tmp_path / "state"),
                     runner_launcher=lambda: asked.append("launch")) as engine:
        engine.new_endpoint(EndpointRequest(name="Src", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        assert engine.revive_runner() is False  # no batch at all
        engine.new_batch(BatchRequest(name="B1", source_endpoint="Src", csv_data=CSV))
        assert engine.revive_runner() is False  # Created: nothing due
        engine.start_batch("B1")  # which launches by itself
        assert asked == ["launch"]
        assert engine.revive_runner() is True  # the launched runner never came (no process)
        assert asked == ["launch", "launch"]
        me = new_owner()
        engine.store.leases.acquire(RUNNER_PREFIX + me, me, MINUTE)
        assert engine.revive_runner() is False
        assert asked == ["launch", "launch"]


def test_with_keep_runner_the_notice_starts_a_runner_instead_of_warning(tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "state")
    launches: list[str] = []
    holder = new_owner()

    def launch() -> None:  # as shell/launch.py does: its own store, the launch lease first
        with Store.open(paths) as own:
            own.leases.acquire(LAUNCH_RESOURCE, holder, MINUTE)
        launches.append("launch")

    with Engine.open(paths, keep_runner=True, runner_launcher=launch) as engine:
        engine.new_endpoint(EndpointRequest(name="Src", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        started(engine, "Src")
        assert launches == ["launch"]
        engine.store.leases.release(LAUNCH_RESOURCE, holder)  # that runner never came up
        assert notice(engine) is None  # a runner is being launched again instead
        assert launches == ["launch", "launch"]
