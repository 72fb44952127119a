"""The benchmark harness (scripts/bench/) still runs end to end; its goals read the right rows.

The benchmark itself runs on demand (docs/benchmarks.md). Here: one tiny smoke run through the
real command line (two Dovecots, A filled by writing Maildir files, doveadm's copy checked by
the comparer), and the goal checks on literal rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from scripts.bench import goals, tools
from scripts.bench.measure import Measurement
from scripts.bench.report import Results, Sample
from scripts.bench.servers import BenchServers, Mailbox

ROOT = Path(__file__).resolve().parents[1]


def test_a_quick_run_copies_checks_and_writes_results_with_the_goals(tmp_path: Path) -> None:
    if shutil.which("doveadm") is None:
        pytest.skip("doveadm is not installed")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench.run", "--quick", "--scenario", "full",
         "--tools", "doveadm", "--rounds", "1", "--sizes", "full=60", "--out", str(out)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    rows = {(r["scenario"], r["work"], r["tool"]): r for r in data["rows"]}
    copy = rows[("full", "copy", "doveadm")]
    assert copy["messages"] == 60 and copy["verdicts"] == ["IDENTICAL"]
    assert copy["wall_s"] > 0 and copy["peak_rss_mb"] > 0
    assert rows[("full", "no-change", "doveadm")]["verdicts"] == []  # not checked: no copy
    statuses = {g["goal"]: g["status"] for g in data["goals"]}
    assert statuses["every imsh and doveadm copy identical (comparer)"] == "met"
    assert "not measured" in statuses.values()  # no imsh rows in this run
    assert "| full | copy | doveadm | 1 | 60 |" in (out / "results.md").read_text()


def _sample(wall: float, rss: float = 50.0, verdict: str | None = "IDENTICAL") -> Sample:
    return Sample(Measurement(wall=wall, cpu=wall / 2, peak_rss_mb=rss, tree_rss_mb=rss,
                              status=0), verdict)


def test_goals_compare_imsh_with_doveadm_in_the_same_run_and_say_missed_with_the_figures(
) -> None:
    results = Results()
    results.add("incremental", "incremental 1 %", "imsh", 1, 10000, 977.8, _sample(0.50))
    results.add("incremental", "incremental 1 %", "doveadm", 1, 10000, 977.8, _sample(0.42))
    results.add("nochange", "no-change", "imsh", 1, 100000, 340.0, _sample(0.8, None))
    results.add("nochange", "copy", "imsh", 1, 100000, 340.0, _sample(80.0, rss=120.0))
    results.add("users", "copy", "imsh", 50, 19150, 1600.0, _sample(12.0, rss=140.0))
    results.add("users", "copy", "doveadm", 50, 19150, 1600.0,
                _sample(13.1, verdict="DIFFERENT: 1 missing"))
    verdicts = {v.goal: v for v in goals.check(results, {
        "incremental": [10000], "nochange": [10000, 100000], "users": [50]})}
    incremental = verdicts["incremental 1 % change on 10,000 messages, whole process: imsh no "
                           "slower than doveadm backup"]
    assert (incremental.status, incremental.figures) == (
        "MISSED", "imsh 0.50 s, doveadm 0.42 s (imsh/doveadm 1.19)")
    assert verdicts["no-change pass on 100,000 messages in one folder, whole process, "
                    "under 1 s"].status == "met"
    assert verdicts["peak runner RSS at 100,000 messages in one folder under 100 MB"
                    ].figures == "120.00 MB"
    assert verdicts["many users: imsh (one batch) no slower than doveadm (4 in parallel)"
                    ].status == "met"
    assert verdicts["many users: runner RSS under 150 MB"].status == "met"
    assert verdicts["one 50,000-message folder: imsh no slower than doveadm"
                    ].status == "not measured"
    identical = verdicts["every imsh and doveadm copy identical (comparer)"]
    assert identical.status == "MISSED" and "users/copy/doveadm/19150" in identical.figures


def test_imsh_without_proofs_runs_the_same_script_with_automatic_proofs_turned_off_first(
        tmp_path: Path) -> None:
    server = SimpleNamespace(host="127.0.0.1", port=1143, password="pw")
    bench = cast(BenchServers, SimpleNamespace(source=server, target=server))
    mailboxes = [Mailbox("user1", 10, 1000, 0.0)]
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    tools.TOOLS["imsh"](bench, mailboxes, tmp_path / "with")
    run = tools.TOOLS["imsh-noproof"](bench, mailboxes, tmp_path / "without")
    proved = (tmp_path / "with" / "migrate.imsh").read_text().splitlines()
    unproved = (tmp_path / "without" / "migrate.imsh").read_text().splitlines()
    assert unproved == [proved[0], "Set-MigrationConfig -AutomaticProofs $false", *proved[1:]]
    assert "AutomaticProofs" not in "\n".join(proved)
    assert run.initial[-1] == "migrate.imsh" and run.env["IMSH_RUNNER_KEEP_ALIVE"] == "0"
    assert "imsh-noproof" not in tools.DEFAULT_TOOLS  # only when asked for
