"""The scale benchmark (issue 19): one batch of N small mailboxes worked by 1, 2, 4 ... runner
hosts on one PostgreSQL database, every host in a network namespace of its own on this machine
(tests/support/netns.py: PostgreSQL and the source/target Dovecot on their own addresses).

    python -m scripts.bench.scale --mailboxes 1000 --runners 1,2,4 [--messages 3] [--workers 4]

Needs root (namespaces). The source mailboxes (``--messages`` small messages in INBOX each) are
loaded once; each round gets a fresh database and fresh target mailboxes, starts the runner
hosts (``imsh --database URL service``, ``--workers`` syncs at once each), then through the
real console script makes the batch, starts it and waits until it is Synced. Per round it
prints: the wall time from Start-MigrationBatch to Synced and mailboxes per minute;
PostgreSQL's load over that time (``pg_stat_database``: commits, rows inserted / updated /
deleted / returned, and the CPU seconds of the postgres processes); the CPU seconds of the
runner hosts; the load average. Every round is checked: the message count on the target is
exactly N x messages, and a sample of mailboxes is compared message by message.

Last, an extrapolation to 10,000 mailboxes: the time at each measured rate, and what the
database needs per mailbox (commits, rows, CPU), which does not depend on how many hosts run
— what sizes the PostgreSQL server for real hosts (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from engine.paths import resolve_state_paths
from engine.store import Store
from tests.support import netns
from tests.support.multihost_batch import (
    Mailbox,
    create_batch,
    differences,
    make_mailboxes,
    target_message_count,
    wait_batch,
    write_csv,
)

EXTRAPOLATE_TO = 10_000
SAMPLE = 20  # mailboxes compared message by message per round
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RoundResult:
    runners: int
    mailboxes: int
    seconds: float
    commits: int
    rows_written: int
    rows_returned: int
    pg_cpu: float
    runner_cpu: float
    load: tuple[float, float, float]
    per_host: dict[str, int]

    @property
    def per_minute(self) -> float:
        return self.mailboxes / self.seconds * 60


def namespace_cpu(nodes: Sequence[netns.Node]) -> dict[int, float]:
    """pid -> CPU seconds (user + system) of every process now in these nodes' namespaces."""
    found: dict[int, float] = {}
    for node in nodes:
        for pid in netns.namespace_pids(node.netns):
            try:
                text = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rfind(")") + 2:].split()
            found[int(pid)] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two samples (a process started meanwhile counts whole; one that
    ended meanwhile is lost: the figure is a lower bound)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pg_counters(site: netns.Site, database: str) -> dict[str, int]:
    name = database.rsplit("/", 1)[1]
    row = site.cluster.psql(
        "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_returned "
        f"FROM pg_stat_database WHERE datname = '{name}'")
    values = [int(v) for v in row.split("|")]
    return dict(zip(("commits", "inserted", "updated", "deleted", "returned"), values,
                    strict=True))


def run_round(site: netns.Site, runners: int, sources: list[Mailbox], target_offset: int,
              workers: int, messages: int, work: Path) -> RoundResult:
    work.mkdir(parents=True)
    boxes = [Mailbox(b.address, b.source_user, f"user{target_offset + i + 1}")
             for i, b in enumerate(sources)]
    admin, database = work / "admin", site.fresh_database("scale")
    create_batch(site, admin, database, work, write_csv(work / "users.csv", boxes, site.source,
                                                       site.target))
    hosts = site.hosts[:runners]
    for host in hosts:
        host.state = work / host.name
        site.start_runner(host, database, admin / "secret.key", {},
                          f"runner:\n  max_workers: {workers}\n")
    try:
        _wait_for_runners(site, admin, database, runners)
        pg_before = pg_counters(site, database)
        cpu_db, cpu_hosts = (namespace_cpu([site.db]),
                             namespace_cpu([h.node for h in hosts]))
        started = time.monotonic()
        status = wait_batch(admin, database, work, timeout=6 * 3600, start=True)
        seconds = time.monotonic() - started
        cpu_db_after = namespace_cpu([site.db])
        cpu_hosts_after = namespace_cpu([h.node for h in hosts])
        load = os.getloadavg()
        time.sleep(1.5)  # backends report their statistics at most once a second
        pg_after = pg_counters(site, database)
    finally:
        for host in hosts:
            site.stop(host)
    if status != "Synced":
        raise SystemExit(f"the batch ended {status}, not Synced")
    want = len(boxes) * messages
    got = target_message_count(site, boxes)
    if got != want:
        raise SystemExit(f"{got} messages on the target, not {want}: lost or duplicated")
    diffs = differences(site, random.Random(runners).sample(boxes, min(SAMPLE, len(boxes))))
    if diffs:
        raise SystemExit("not identical:\n" + "\n".join(diffs))
    delta = {k: pg_after[k] - pg_before[k] for k in pg_after}
    per_host = {h.name: _started(h) for h in hosts}
    return RoundResult(runners, len(boxes), seconds, delta["commits"],
                       delta["inserted"] + delta["updated"] + delta["deleted"],
                       delta["returned"], cpu_delta(cpu_db, cpu_db_after),
                       cpu_delta(cpu_hosts, cpu_hosts_after), load, per_host)


def _started(host: netns.RunnerHost) -> int:
    if not host.service_log.exists():
        return 0
    return len(re.findall(r"starting the \w+ sync of", host.service_log.read_text()))


def _wait_for_runners(site: netns.Site, admin: Path, database: str, runners: int) -> None:
    paths = resolve_state_paths(admin, env={"IMSH_DATABASE": database})

    def serving() -> bool:
        with Store.open(paths) as store:
            return len(store.leases.active(prefix="runner:")) == runners
    site.wait_for(serving, 120, f"{runners} runner host(s) to start")


def report(results: list[RoundResult], messages: int) -> str:
    lines = [f"{'runners':>7} {'mailboxes':>9} {'seconds':>8} {'mbx/min':>8} {'commits':>8} "
             f"{'rows w':>8} {'rows r':>9} {'pg cpu s':>8} {'host cpu s':>10}  load  per host"]
    for r in results:
        lines.append(f"{r.runners:>7} {r.mailboxes:>9} {r.seconds:>8.1f} {r.per_minute:>8.1f} "
                     f"{r.commits:>8} {r.rows_written:>8} {r.rows_returned:>9} "
                     f"{r.pg_cpu:>8.1f} {r.runner_cpu:>10.1f}  {r.load[0]:.1f}  "
                     + " ".join(f"{n}={c}" for n, c in r.per_host.items()))
    lines.append("")
    lines.append(f"Extrapolation to {EXTRAPOLATE_TO:,} mailboxes of {messages} messages "
                 "(linear in the count; measured on this machine):")
    for r in results:
        minutes = EXTRAPOLATE_TO / r.per_minute
        lines.append(f"  {r.runners} runner(s): {r.per_minute:.0f} mailboxes/min -> "
                     f"{minutes / 60:.1f} h")
    n = sum(r.mailboxes for r in results)
    commits = sum(r.commits for r in results) / n
    rows = sum(r.rows_written for r in results) / n
    pg_cpu = sum(r.pg_cpu for r in results) / n
    host_cpu = sum(r.runner_cpu for r in results) / n
    lines.append(f"  per mailbox: {commits:.1f} commits, {rows:.1f} rows written, "
                 f"{pg_cpu * 1000:.0f} ms PostgreSQL CPU, {host_cpu * 1000:.0f} ms runner CPU")
    lines.append(f"  {EXTRAPOLATE_TO:,} mailboxes: {commits * EXTRAPOLATE_TO:,.0f} commits, "
                 f"{pg_cpu * EXTRAPOLATE_TO / 60:.0f} CPU-minutes of PostgreSQL, "
                 f"{host_cpu * EXTRAPOLATE_TO / 60:.0f} CPU-minutes on the runner hosts")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.scale",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--runners", default="1,2,4", help="runner host counts, e.g. 1,2,4")
    parser.add_argument("--messages", type=int, default=3, help="messages per mailbox")
    parser.add_argument("--workers", type=int, default=4, help="syncs at once per host")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.runners.split(",") if c.strip()]
    reason = netns.unavailable()
    if reason is not None:
        print(f"scale benchmark: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="imsh-scale-", dir="/tmp"))
    print(f"imsh scale benchmark {datetime.now():%Y-%m-%d %H:%M}: {args.mailboxes} mailboxes "
          f"x {args.messages} messages, runners {counts}, {args.workers} workers each; "
          f"work in {work}", flush=True)
    site = netns.Site(max(counts), args.mailboxes, work,
                      target_users=args.mailboxes * len(counts))
    results: list[RoundResult] = []
    try:
        began = time.monotonic()
        sources = make_mailboxes(site, 1, args.mailboxes, args.messages)
        print(f"loaded {len(sources)} source mailboxes in {time.monotonic() - began:.0f} s",
              flush=True)
        for index, runners in enumerate(counts):
            result = run_round(site, runners, sources, index * args.mailboxes,
                               args.workers, args.messages,
                               work / f"round{index + 1}-{runners}")
            results.append(result)
            print(f"{runners} runner(s): {result.seconds:.1f} s, "
                  f"{result.per_minute:.1f} mailboxes/min, load {result.load[0]:.1f}",
                  flush=True)
    finally:
        site.close()
    print(report(results, args.messages))
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
