"""Benchmark imsh against mbsync and ``doveadm backup``: Dovecot A -> Dovecot B on loopback.

    python -m scripts.bench.run [--counts 2000,10000] [--rounds 3] [--tools imsh,mbsync,doveadm]

Starts two throwaway Dovecots, fills A with the seeded bench corpus (one mailbox per size),
then, round after round (the tools' order rotated each round, so background load hits all
alike), for every size and tool: empties the user on B, runs the tool (measured), lets the
comparer check B against A, and runs the tool again with nothing to do (measured the same
way). Prints the table and the time ratios (docs/benchmarks.md). Servers and every process a
tool left behind are stopped on exit, Ctrl-C and failure included.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from scripts.bench import report, servers, tools, verify
from scripts.bench.measure import ToolFailed, measure
from scripts.bench.report import RunResult
from scripts.bench.servers import BenchServers, Mailbox


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (`&`)
    work = Path(tempfile.mkdtemp(prefix="imsh-bench-", dir="/tmp"))
    work.chmod(0o755)
    bench: BenchServers | None = None
    results: list[RunResult] = []
    try:
        print(f"imsh benchmark, {datetime.now():%Y-%m-%d %H:%M}; tool output in {work}",
              flush=True)
        bench = servers.start(args.counts)
        for round_number in range(args.rounds):
            order = _rotated(args.tools, round_number)
            for mailbox in bench.mailboxes:
                for tool in order:
                    results.append(_run_one(bench, tool, mailbox, work, round_number))
                    _progress(results[-1], round_number)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    except ToolFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if bench is not None:
            bench.stop()
        if results:
            print("\n" + report.table(results))
            print("\n".join(["", *report.ratios(results)]))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=_counts, default=[2000, 10000],
                        help="mailbox sizes in messages, comma-separated (default 2000,10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per tool (default 3)")
    parser.add_argument("--tools", type=_tools, default=list(tools.TOOLS),
                        help="comma-separated, from imsh,mbsync,doveadm (default all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (tool logs, imsh state)")
    return parser.parse_args(argv)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("counts must be positive")
    return counts


def _tools(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in tools.TOOLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown tool(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(tools.TOOLS)}")
    return names


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _rotated(names: list[str], by: int) -> list[str]:
    shift = by % len(names)
    return names[shift:] + names[:shift]


def _run_one(bench: BenchServers, tool: str, mailbox: Mailbox, work: Path,
             round_number: int) -> RunResult:
    bench.empty_target(mailbox)
    run_dir = work / f"{tool}-{mailbox.count}-r{round_number + 1}"
    run_dir.mkdir()
    run = tools.TOOLS[tool](bench, mailbox, run_dir)
    log = run_dir / "output.log"
    initial = measure(run.initial, run.cwd, run.env, log)
    pass_seconds = run.pass_seconds()
    verdict = verify.verdict(bench, mailbox, run.adds_tuid)
    incremental = measure(run.incremental, run.cwd, run.env, log)
    return RunResult(tool, mailbox, initial, incremental, verdict, pass_seconds)


def _progress(result: RunResult, round_number: int) -> None:
    engine = f", pass {result.pass_seconds:.2f} s" if result.pass_seconds is not None else ""
    print(f"round {round_number + 1}: {result.tool:8} {result.mailbox.count:>6} msgs: "
          f"{result.initial.wall:6.2f} s{engine}, CPU {result.initial.cpu:.2f} s, "
          f"RSS {result.initial.peak_rss_mb:.0f} MB (tree {result.initial.tree_rss_mb:.0f}), "
          f"no-change {result.incremental.wall:.2f} s; {result.verdict}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
