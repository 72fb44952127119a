"""The benchmark's results: one row per scenario, work, tool and size, medians over the rounds.

Columns are explained in docs/benchmarks.md. Wall times are medians with the range in
parentheses; memory is the largest seen in any round; the verdict lists every distinct verdict
of the rounds. ``markdown`` is the table docs/benchmarks.md shows, ``as_json`` what
results.json holds (every round's figures too).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scripts.bench.measure import Measurement


@dataclass(frozen=True)
class Sample:
    """One round of one row."""

    measurement: Measurement
    verdict: str | None = None  # None: not checked (no-change runs, start-up)
    pass_seconds: float | None = None  # imsh only: the runner's own pass, from its log


@dataclass
class Row:
    scenario: str
    work: str  # "copy", "no-change", "incremental 1 %", "start-up"
    tool: str
    mailboxes: int
    messages: int
    megabytes: float
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(s.measurement.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.measurement.cpu for s in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        return max(s.measurement.peak_rss_mb for s in self.samples)

    @property
    def tree_rss_mb(self) -> float:
        return max(s.measurement.tree_rss_mb for s in self.samples)

    @property
    def pass_seconds(self) -> float | None:
        passes = [s.pass_seconds for s in self.samples if s.pass_seconds is not None]
        return statistics.median(passes) if passes else None

    @property
    def verdicts(self) -> list[str]:
        return sorted({s.verdict for s in self.samples if s.verdict is not None})

    @property
    def identical(self) -> bool | None:
        """True when every checked round was IDENTICAL; None when none was checked."""
        verdicts = self.verdicts
        return None if not verdicts else verdicts == ["IDENTICAL"]


class Results:
    """Rows in the order they were first measured."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, scenario: str, work: str, tool: str, mailboxes: int, messages: int,
            megabytes: float, sample: Sample, note: str = "") -> Row:
        for row in self.rows:
            if (row.scenario, row.work, row.tool, row.messages, row.mailboxes) == (
                    scenario, work, tool, messages, mailboxes):
                row.samples.append(sample)
                return row
        row = Row(scenario, work, tool, mailboxes, messages, megabytes, [sample], note)
        self.rows.append(row)
        return row

    def find(self, scenario: str, work: str, tool: str,
             messages: int | None = None) -> Row | None:
        for row in self.rows:
            if (row.scenario, row.work, row.tool) == (scenario, work, tool) and (
                    messages is None or row.messages == messages):
                return row
        return None


HEADERS = ["scenario", "work", "tool", "mailboxes", "messages", "MB", "wall s", "CPU s",
           "peak RSS MB", "tree RSS MB", "imsh pass s", "rounds", "comparer verdict"]


def cells(row: Row) -> list[str]:
    walls = [s.measurement.wall for s in row.samples]
    wall = (f"{row.wall:.2f} ({min(walls):.2f}-{max(walls):.2f})" if len(walls) > 1
            else f"{row.wall:.2f}")
    passed = row.pass_seconds
    return [row.scenario, row.work, row.tool, str(row.mailboxes), f"{row.messages:,}",
            f"{row.megabytes:.1f}", wall, f"{row.cpu:.2f}", f"{row.peak_rss_mb:.0f}",
            f"{row.tree_rss_mb:.0f}", f"{passed:.2f}" if passed is not None else "-",
            str(len(row.samples)), " | ".join(row.verdicts) or "-"]


def markdown(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def as_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{
        "scenario": row.scenario, "work": row.work, "tool": row.tool,
        "mailboxes": row.mailboxes, "messages": row.messages, "megabytes": row.megabytes,
        "wall_s": row.wall, "cpu_s": row.cpu, "peak_rss_mb": row.peak_rss_mb,
        "tree_rss_mb": row.tree_rss_mb, "imsh_pass_s": row.pass_seconds,
        "verdicts": row.verdicts, "note": row.note,
        "rounds": [{"wall_s": s.measurement.wall, "cpu_s": s.measurement.cpu,
                    "peak_rss_mb": s.measurement.peak_rss_mb,
                    "tree_rss_mb": s.measurement.tree_rss_mb, "verdict": s.verdict,
                    "imsh_pass_s": s.pass_seconds} for s in row.samples],
    } for row in rows]
