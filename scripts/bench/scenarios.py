"""The benchmark's scenarios (issue 17's table), each on its own pair of Dovecots.

=============  =====================================================================
full           the bench corpus, one mailbox per size (default 2,000 and 10,000): copy, check,
               no-change run
incremental    a 10,000-message mailbox copied, then 1 % of it changed on A
               (scripts/bench/change.py); the measured run is the tool's next pass, checked
nochange       10,000 / 50,000 / 100,000 small messages in INBOX: copy (peak RSS), check,
               no-change run
onefolder      one INBOX of 50,000 small messages: the copy (shares nochange's run when both
               are asked for and the size is among nochange's)
users          50 users x 383 bench messages: imsh as one batch, mbsync and doveadm one
               command per user, 4 in parallel; checked
onemailbox     the users' corpora written into one mailbox (the same bytes): copy, check
startup        ``imsh -c '$x=1'``, 10 runs
=============  =====================================================================

Within a round the tools take turns in an order rotated every round, so background load falls
on all alike. The target is emptied before every copy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.bench import change, servers, tools, verify
from scripts.bench.fill import SMALL_MAX_SIZE, Plan
from scripts.bench.measure import Measurement, measure
from scripts.bench.report import Results, Sample
from scripts.bench.servers import BenchServers, Mailbox

SCENARIOS = ("full", "incremental", "nochange", "onefolder", "users", "onemailbox", "startup")
DEFAULT_SIZES: dict[str, list[int]] = {
    "full": [2000, 10000], "incremental": [10000], "nochange": [10000, 50000, 100000],
    "onefolder": [50000], "users": [50], "onemailbox": [50], "startup": [10],
}
QUICK_SIZES: dict[str, list[int]] = {
    "full": [200], "incremental": [400], "nochange": [300, 600], "onefolder": [600],
    "users": [3], "onemailbox": [3], "startup": [3],
}
MESSAGES_PER_USER = 383  # 50 x 383 = 19,150 messages, about 1.6 GB: the 19,146
QUICK_MESSAGES_PER_USER = 40
CHANGE_FRACTION = 0.01


@dataclass(frozen=True)
class Settings:
    scenarios: list[str]
    tools: list[str]
    rounds: int
    sizes: dict[str, list[int]]  # per scenario: messages (users/onemailbox: users; startup: runs)
    per_user: int
    work: Path


Progress = Callable[[str], None]


def run(scenario: str, settings: Settings, results: Results, say: Progress) -> None:
    if scenario == "onefolder" and "nochange" in settings.scenarios:
        return  # measured in nochange's run
    {"full": _full, "incremental": _incremental, "nochange": _one_folder,
     "onefolder": _one_folder_alone, "users": _users, "onemailbox": _one_mailbox,
     "startup": _startup}[scenario](settings, results, say)


# --- the scenarios -------------------------------------------------------------------------

def _full(settings: Settings, results: Results, say: Progress) -> None:
    plans = [Plan(f"user{n}", ((servers.seed_for(count, n), count),))
             for n, count in enumerate(settings.sizes["full"], start=1)]
    with _servers(plans) as bench:
        for round_number, tool, mailbox in _turns(settings, bench):
            _copy_check_nochange(bench, settings, results, say, "full", tool, [mailbox],
                                 round_number, ("full",))


def _one_folder(settings: Settings, results: Results, say: Progress) -> None:
    """nochange's sizes, and onefolder's too when they are among them (one run for both)."""
    sizes = list(settings.sizes["nochange"])
    labels = ["nochange"]
    if "onefolder" in settings.scenarios:
        labels.append("onefolder")
        sizes += [s for s in settings.sizes["onefolder"] if s not in sizes]
    _one_folder_runs(settings, results, say, sizes, labels)


def _one_folder_alone(settings: Settings, results: Results, say: Progress) -> None:
    _one_folder_runs(settings, results, say, settings.sizes["onefolder"], ["onefolder"])


def _one_folder_runs(settings: Settings, results: Results, say: Progress,
                     sizes: Sequence[int], scenarios: Sequence[str]) -> None:
    plans = [Plan(f"user{n}", ((50 + n, count),), profile="default", one_folder=True,
                  max_size=SMALL_MAX_SIZE) for n, count in enumerate(sizes, start=1)]
    with _servers(plans) as bench:
        for round_number, tool, mailbox in _turns(settings, bench):
            labels = tuple(name for name in scenarios if mailbox.count in settings.sizes[name])
            _copy_check_nochange(bench, settings, results, say, "onefolder", tool, [mailbox],
                                 round_number, labels, nochange=("nochange",)
                                 if "nochange" in labels else ())


def _incremental(settings: Settings, results: Results, say: Progress) -> None:
    plans = [Plan(f"user{n}", ((servers.seed_for(count, n), count),))
             for n, count in enumerate(settings.sizes["incremental"], start=1)]
    with _servers(plans) as bench:
        for round_number, tool, mailbox in _turns(settings, bench):
            run, copy, run_dir = _copy(bench, settings, tool, [mailbox], "incremental",
                                       round_number)
            results.add("incremental", "copy", tool, 1, mailbox.count, mailbox.megabytes,
                        Sample(copy, None, run.pass_seconds()))
            changed = change.apply(bench.source, mailbox.user,
                                   max(2, round(mailbox.count * CHANGE_FRACTION)))
            try:
                again = measure(run.incremental, run.cwd, run.env, run_dir / "output.log")
                passed = run.pass_seconds()
                verdict = verify.verdict(bench, [mailbox], run.adds_tuid)
            finally:
                change.undo(bench.source, changed)
            row = results.add("incremental", "incremental 1 %", tool, 1, mailbox.count,
                              mailbox.megabytes, Sample(again, verdict, passed),
                              note=f"{changed.size} messages changed")
            say(_line(round_number, row.work, tool, mailbox.count, again, passed, verdict))


def _users(settings: Settings, results: Results, say: Progress) -> None:
    plans = _user_plans(settings)
    with _servers(plans) as bench:
        for round_number in range(settings.rounds):
            for tool in _rotated(settings.tools, round_number):
                _copy_check_nochange(bench, settings, results, say, "users", tool,
                                     bench.mailboxes, round_number, ("users",),
                                     nochange=())


def _one_mailbox(settings: Settings, results: Results, say: Progress) -> None:
    parts = tuple(part for plan in _user_plans(settings) for part in plan.parts)
    with _servers([Plan("user1", parts)]) as bench:
        for round_number, tool, mailbox in _turns(settings, bench):
            _copy_check_nochange(bench, settings, results, say, "onemailbox", tool, [mailbox],
                                 round_number, ("onemailbox",), nochange=())


def _startup(settings: Settings, results: Results, say: Progress) -> None:
    if "imsh" not in settings.tools:
        return
    runs = settings.sizes["startup"][0]
    imsh = tools.imsh_command()
    with tempfile.TemporaryDirectory(prefix="imsh-bench-startup-", dir="/tmp") as home:
        env = {**os.environ, "IMSH_HOME": home}
        env.pop("IMSH_CONFIG", None)
        log = settings.work / "startup.log"
        for _run in range(runs):
            taken = measure([imsh, "-c", "$x=1"], settings.work, env, log)
            results.add("startup", "start-up", "imsh", 0, 0, 0.0, Sample(taken))
        row = results.find("startup", "start-up", "imsh")
        if row is not None:
            say(f"start-up: imsh -c '$x=1' median {row.wall:.3f} s over {runs} runs, "
                f"peak RSS {row.peak_rss_mb:.0f} MB")


# --- the steps -----------------------------------------------------------------------------

def _user_plans(settings: Settings) -> list[Plan]:
    return [Plan(f"user{n}", ((100 + n, settings.per_user),))
            for n in range(1, settings.sizes["users"][0] + 1)]


class _servers:
    """``with _servers(plans) as bench``: a started, filled pair, stopped on the way out."""

    def __init__(self, plans: Sequence[Plan]) -> None:
        self.plans = plans

    def __enter__(self) -> BenchServers:
        self.bench = servers.start(self.plans)
        return self.bench

    def __exit__(self, *exc: object) -> None:
        self.bench.stop()


def _turns(settings: Settings, bench: BenchServers) -> list[tuple[int, str, Mailbox]]:
    return [(round_number, tool, mailbox) for round_number in range(settings.rounds)
            for mailbox in bench.mailboxes for tool in _rotated(settings.tools, round_number)]


def _rotated(names: list[str], by: int) -> list[str]:
    shift = by % len(names)
    return names[shift:] + names[:shift]


def _copy(bench: BenchServers, settings: Settings, tool: str, mailboxes: Sequence[Mailbox],
          scenario: str, round_number: int) -> tuple[tools.ToolRun, Measurement, Path]:
    bench.empty_target(mailboxes)
    count = sum(m.count for m in mailboxes)
    run_dir = settings.work / f"{scenario}-{tool}-{count}-r{round_number + 1}"
    run_dir.mkdir()
    run = tools.TOOLS[tool](bench, mailboxes, run_dir)
    return run, measure(run.initial, run.cwd, run.env, run_dir / "output.log"), run_dir


def _copy_check_nochange(bench: BenchServers, settings: Settings, results: Results,
                         say: Progress, scenario: str, tool: str,
                         mailboxes: Sequence[Mailbox], round_number: int,
                         labels: Sequence[str], nochange: Sequence[str] | None = None
                         ) -> None:
    """The copy (checked) under every label; then the no-change run under ``nochange``'s
    labels (None: every label; empty: no no-change run)."""
    run, copy, run_dir = _copy(bench, settings, tool, mailboxes, scenario, round_number)
    passed = run.pass_seconds()
    verdict = verify.verdict(bench, mailboxes, run.adds_tuid)
    count = sum(m.count for m in mailboxes)
    megabytes = sum(m.megabytes for m in mailboxes)
    for label in labels:
        results.add(label, "copy", tool, len(mailboxes), count, megabytes,
                    Sample(copy, verdict, passed))
    say(_line(round_number, f"{'/'.join(labels)} copy", tool, count, copy, passed, verdict))
    nochange_labels = labels if nochange is None else nochange
    if nochange_labels:
        again = measure(run.incremental, run.cwd, run.env, run_dir / "output.log")
        for label in nochange_labels:
            results.add(label, "no-change", tool, len(mailboxes), count, megabytes,
                        Sample(again, None, run.pass_seconds()))
        say(_line(round_number, f"{'/'.join(nochange_labels)} no-change", tool, count, again,
                  None, None))


def _line(round_number: int, work: str, tool: str, count: int, taken: Measurement,
          passed: float | None, verdict: str | None) -> str:
    engine = f", pass {passed:.2f} s" if passed is not None else ""
    checked = f"; {verdict}" if verdict is not None else ""
    return (f"round {round_number + 1}: {work:24} {tool:8} {count:>7,} msgs: "
            f"{taken.wall:7.2f} s{engine}, CPU {taken.cpu:.2f} s, RSS {taken.peak_rss_mb:.0f} MB"
            f" (tree {taken.tree_rss_mb:.0f}){checked}")
