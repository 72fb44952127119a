"""The benchmark's table: one row per tool and mailbox size, medians over the rounds.

Columns are explained in docs/benchmarks.md. Wall times are medians with the range in
parentheses; rates use the median wall time; memory is the largest seen in any round.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from tabulate import tabulate

from scripts.bench.measure import Measurement
from scripts.bench.servers import Mailbox

RSS_GOAL_MB = 150
DOVEADM_FACTOR_GOAL = 1.5


@dataclass(frozen=True)
class RunResult:
    """One tool, one mailbox, one round: the initial copy, its check, the no-change run."""

    tool: str
    mailbox: Mailbox
    initial: Measurement
    incremental: Measurement
    verdict: str
    pass_seconds: float | None = None  # imsh only: the runner's own pass, from its log


HEADERS = ["tool", "messages", "MB", "wall s", "msg/s", "MB/s", "CPU s", "peak RSS MB",
           "tree RSS MB", "imsh pass s", "incr. wall s", "comparer verdict"]


def table(results: Sequence[RunResult]) -> str:
    rows = [_row(group) for group in _groups(results)]
    return tabulate(rows, headers=HEADERS, disable_numparse=True)


def ratios(results: Sequence[RunResult]) -> list[str]:
    """imsh's median wall time over mbsync's and doveadm's, per mailbox size, and the goals."""
    lines = []
    for group in _groups([r for r in results if r.tool == "imsh"]):
        mailbox, imsh = group[0].mailbox, _median_wall(group)
        for peer, goal in (("mbsync", 1.0), ("doveadm", DOVEADM_FACTOR_GOAL)):
            others = [r for r in results if r.tool == peer and r.mailbox == mailbox]
            if others:
                ratio = imsh / _median_wall(others)
                met = "met" if ratio <= goal else "MISSED"
                lines.append(f"{mailbox.count} messages: imsh/{peer} = {ratio:.2f} "
                             f"(goal <= {goal}: {met})")
        if mailbox.count >= 10000:
            peak = max(r.initial.peak_rss_mb for r in group)
            met = "met" if peak < RSS_GOAL_MB else "MISSED"
            lines.append(f"{mailbox.count} messages: imsh peak RSS {peak:.0f} MB "
                         f"(goal < {RSS_GOAL_MB} MB: {met})")
    return lines


def _groups(results: Sequence[RunResult]) -> list[list[RunResult]]:
    keys: list[tuple[int, str]] = []
    for result in results:
        key = (result.mailbox.count, result.tool)
        if key not in keys:
            keys.append(key)
    return [[r for r in results if (r.mailbox.count, r.tool) == key] for key in sorted(keys)]


def _median_wall(group: Sequence[RunResult]) -> float:
    return statistics.median(r.initial.wall for r in group)


def _row(group: list[RunResult]) -> list[str]:
    mailbox = group[0].mailbox
    walls = [r.initial.wall for r in group]
    wall = statistics.median(walls)
    passes = [r.pass_seconds for r in group if r.pass_seconds is not None]
    verdicts = sorted({r.verdict for r in group})
    return [
        group[0].tool,
        f"{mailbox.count:,}",
        f"{mailbox.megabytes:.1f}",
        f"{wall:.2f} ({min(walls):.2f}-{max(walls):.2f})" if len(walls) > 1 else f"{wall:.2f}",
        f"{mailbox.count / wall:.0f}",
        f"{mailbox.megabytes / wall:.1f}",
        f"{statistics.median(r.initial.cpu for r in group):.2f}",
        f"{max(r.initial.peak_rss_mb for r in group):.0f}",
        f"{max(r.initial.tree_rss_mb for r in group):.0f}",
        f"{statistics.median(passes):.2f}" if passes else "-",
        f"{statistics.median(r.incremental.wall for r in group):.2f}",
        " | ".join(verdicts),
    ]
