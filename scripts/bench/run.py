"""Benchmark imsh against mbsync and ``doveadm backup``: Dovecot A -> Dovecot B on loopback.

    python -m scripts.bench.run [--scenario full,incremental,...] [--sizes SCENARIO=N,N ...]
                                [--rounds 2] [--tools imsh,mbsync,doveadm,imsh-noproof]
                                [--quick]
                                [--out DIR] [--keep]

Runs the scenarios of scripts/bench/scenarios.py (default: all), each on its own pair of
throwaway Dovecots with A filled by writing Maildir files, every tool measured the same way
(scripts/bench/measure.py) and every copy checked by the comparer. Prints the rows as they are
measured, then the table and issue 17's goals (met / MISSED / not measured); writes
results.json and results.md into --out (default: the work directory, printed at the start).
Servers and every process a tool left behind are stopped on exit, Ctrl-C and failure included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from scripts.bench import goals, report, scenarios, tools
from scripts.bench.measure import ToolFailed
from scripts.bench.report import Results
from tests.support.servers import stop_all


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (`&`)
    work = Path(tempfile.mkdtemp(prefix="imsh-bench-", dir="/tmp"))
    work.chmod(0o755)
    out = Path(args.out) if args.out else work
    sizes = _sizes(args)
    settings = scenarios.Settings(
        scenarios=args.scenario, tools=args.tools, rounds=args.rounds, sizes=sizes,
        per_user=(scenarios.QUICK_MESSAGES_PER_USER if args.quick
                  else scenarios.MESSAGES_PER_USER), work=work)
    results = Results()
    began, load_before = datetime.now(), _uptime()
    status = 0
    try:
        print(f"imsh benchmark, {began:%Y-%m-%d %H:%M}; {load_before}; scenarios "
              f"{','.join(args.scenario)}; tool output in {work}", flush=True)
        for scenario in args.scenario:
            scenarios.run(scenario, settings, results, lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        status = 130
    except ToolFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        status = 1
    finally:
        stop_all()
        if results.rows:
            _write(results, settings, out, began, load_before, argv)
        if not args.keep and out != work:
            shutil.rmtree(work, ignore_errors=True)
    return status


def _write(results: Results, settings: scenarios.Settings, out: Path, began: datetime,
           load_before: str, argv: Sequence[str] | None) -> None:
    verdicts = goals.check(results, {name: settings.sizes[name] for name in settings.scenarios})
    load_after = _uptime()
    table = report.markdown(results.rows)
    goal_lines = [v.line() for v in verdicts]
    print("\n" + table + "\n\n" + "\n".join(goal_lines) + f"\n\n{load_after}")
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m scripts.bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    (out / "results.json").write_text(json.dumps({
        "command": command, "started": began.isoformat(timespec="seconds"),
        "load_before": load_before, "load_after": load_after,
        "rows": report.as_json(results.rows),
        "goals": [{"goal": v.goal, "status": v.status, "figures": v.figures}
                  for v in verdicts],
    }, indent=2), encoding="utf-8")
    (out / "results.md").write_text(
        f"Command: `{command}`, started {began:%Y-%m-%d %H:%M}\n\n"
        f"Load: before `{load_before}`, after `{load_after}`\n\n{table}\n\n"
        + "\n".join(f"- {v.status}: {v.goal} ({v.figures})" for v in verdicts) + "\n",
        encoding="utf-8")
    print(f"results: {out / 'results.json'}, {out / 'results.md'}", flush=True)


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=_scenarios, default=list(scenarios.SCENARIOS),
                        help=f"comma-separated, from {','.join(scenarios.SCENARIOS)} "
                             "(default all)")
    parser.add_argument("--sizes", action="append", default=[], metavar="SCENARIO=N,N",
                        help="sizes of a scenario: messages per mailbox (users, onemailbox: "
                             "the number of users; startup: runs), e.g. nochange=10000,50000;"
                             " repeatable")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per tool (default 2)")
    parser.add_argument("--tools", type=_tools, default=list(tools.DEFAULT_TOOLS),
                        help="comma-separated, from imsh,mbsync,doveadm,imsh-noproof "
                             "(default imsh,mbsync,doveadm)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, for a smoke run of the harness")
    parser.add_argument("--out", help="write results.json and results.md here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (tool logs, imsh state)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        args.size_overrides = dict(_size_option(text) for text in args.sizes)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def _sizes(args: argparse.Namespace) -> dict[str, list[int]]:
    base = scenarios.QUICK_SIZES if args.quick else scenarios.DEFAULT_SIZES
    return {**{name: list(sizes) for name, sizes in base.items()}, **args.size_overrides}


def _size_option(text: str) -> tuple[str, list[int]]:
    name, _, numbers = text.partition("=")
    if name not in scenarios.SCENARIOS or not numbers:
        raise ValueError(f"--sizes wants SCENARIO=N,N with a scenario from "
                         f"{','.join(scenarios.SCENARIOS)}: {text!r}")
    try:
        counts = [int(part) for part in numbers.split(",")]
    except ValueError:
        raise ValueError(f"--sizes {name}: not a list of numbers: {numbers!r}") from None
    if any(count < 1 for count in counts):
        raise ValueError(f"--sizes {name}: sizes must be positive")
    return name, counts


def _scenarios(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in scenarios.SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown scenario(s) {', '.join(unknown) or text!r};"
                                         f" choose from {', '.join(scenarios.SCENARIOS)}")
    return names


def _tools(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in tools.TOOLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown tool(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(tools.TOOLS)}")
    return names


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
