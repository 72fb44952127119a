"""Issue 17's "Done when", checked against the rows of this run: met, MISSED or not measured.

Every goal compares figures of the same run (medians of wall time, the largest peak RSS), so
background load falls on imsh and on its peers alike. A goal whose rows were not measured (a
scenario, size or tool left out) says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scripts.bench.report import Results, Row
from scripts.bench.tools import PARALLEL

STARTUP_GOAL_S = 0.3
NOCHANGE_GOAL_S = 1.0
ONEFOLDER_RSS_GOAL_MB = 100
USERS_RSS_GOAL_MB = 150


@dataclass(frozen=True)
class Verdict:
    goal: str
    status: str  # "met", "MISSED" or "not measured"
    figures: str

    def line(self) -> str:
        return f"{self.status:>12}  {self.goal}: {self.figures}"


def check(results: Results, sizes: dict[str, list[int]]) -> list[Verdict]:
    """``sizes``: the mailbox sizes each scenario ran with (the goals' sizes when full-size)."""
    incremental = max(sizes.get("incremental", [10000]))
    largest_one_folder = max(sizes.get("nochange", [100000]))
    onefolder = max(sizes.get("onefolder", [50000]))
    full = max(sizes.get("full", [10000]))
    return [
        _no_slower(results, f"incremental 1 % change on {incremental:,} messages, whole "
                   "process: imsh no slower than doveadm backup",
                   "incremental", "incremental 1 %", incremental),
        _under(results.find("nochange", "no-change", "imsh", largest_one_folder),
               f"no-change pass on {largest_one_folder:,} messages in one folder, whole "
               f"process, under {NOCHANGE_GOAL_S:g} s", NOCHANGE_GOAL_S, lambda r: r.wall, "s"),
        _no_slower(results, f"one {onefolder:,}-message folder: imsh no slower than doveadm",
                   "onefolder", "copy", onefolder),
        _under(results.find("nochange", "copy", "imsh", largest_one_folder),
               f"peak runner RSS at {largest_one_folder:,} messages in one folder under "
               f"{ONEFOLDER_RSS_GOAL_MB} MB", ONEFOLDER_RSS_GOAL_MB, lambda r: r.peak_rss_mb,
               "MB"),
        _no_slower(results, "many users: imsh (one batch) no slower than doveadm "
                   f"({PARALLEL} in parallel)", "users", "copy", None),
        _under(results.find("users", "copy", "imsh"),
               f"many users: runner RSS under {USERS_RSS_GOAL_MB} MB", USERS_RSS_GOAL_MB,
               lambda r: r.peak_rss_mb, "MB"),
        _no_slower(results, f"the {full:,}-message mailbox: imsh at least level with doveadm",
                   "full", "copy", full),
        _identical(results),
        _under(results.find("startup", "start-up", "imsh"),
               f"start-up: imsh -c '$x=1' under {STARTUP_GOAL_S:g} s (median)", STARTUP_GOAL_S,
               lambda r: r.wall, "s", detail=lambda r: f" (CPU {r.cpu:.2f} s: on a loaded "
                                                       "machine wall time is mostly waiting)"),
    ]


def _no_slower(results: Results, goal: str, scenario: str, work: str,
               messages: int | None) -> Verdict:
    imsh = results.find(scenario, work, "imsh", messages)
    doveadm = results.find(scenario, work, "doveadm", messages)
    if imsh is None or doveadm is None:
        return Verdict(goal, "not measured", "needs imsh and doveadm rows")
    ratio = imsh.wall / doveadm.wall
    status = "met" if imsh.wall <= doveadm.wall else "MISSED"
    return Verdict(goal, status, f"imsh {imsh.wall:.2f} s, doveadm {doveadm.wall:.2f} s "
                                 f"(imsh/doveadm {ratio:.2f})")


def _under(row: Row | None, goal: str, limit: float, figure: Callable[[Row], float],
           unit: str, detail: Callable[[Row], str] = lambda row: "") -> Verdict:
    if row is None:
        return Verdict(goal, "not measured", "no imsh row")
    value = figure(row)
    return Verdict(goal, "met" if value < limit else "MISSED",
                   f"{value:.2f} {unit}{detail(row)}")


def _identical(results: Results) -> Verdict:
    goal = "every imsh and doveadm copy identical (comparer)"
    checked = [r for r in results.rows if r.tool in ("imsh", "doveadm")
               and r.identical is not None]
    if not checked:
        return Verdict(goal, "not measured", "no copy was checked")
    different = [f"{r.scenario}/{r.work}/{r.tool}/{r.messages}" for r in checked
                 if not r.identical]
    if different:
        return Verdict(goal, "MISSED", "different: " + ", ".join(different))
    return Verdict(goal, "met", f"{len(checked)} rows, every round IDENTICAL")
