"""How much a proof costs: Test-MigrationUser's comparer against a plain read of both mailboxes.

::

    python -m scripts.bench_proof                 # 10,000 messages (the bench corpus, seed 43)
    python -m scripts.bench_proof --count 2000 --rounds 3

Starts a throwaway Dovecot (tests/support/servers.py), loads the same generated mailbox into
``user1`` (the source) and ``user2`` (its faithful copy), then runs, each in a fresh child
process so that its peak memory (``ru_maxrss``) is its own:

- **read**: every message of both mailboxes fetched with ``BODY.PEEK[]`` through the engine's
  IMAP reader (engine/imap/source.py), folder by folder, bodies dropped: what any proof must at
  least do;
- **proof**: the comparer (engine/verify) over the same two mailboxes: listing, fetching,
  hashing, and comparing folder by folder.

It prints the wall and CPU seconds and peak RSS of each, the ratio proof / read in wall time
(the target: at most 2) and the comparer's verdict (it must be IDENTICAL). Rounds alternate
which child runs first. Not part of the test suite; the machine it runs
on may be shared, so run several rounds and read the figures as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from engine.imap.connection import ImapSettings, SimpleLogin, open_session
from engine.imap.source import ImapSource as EngineSource
from engine.model import IMAPSecurityMechanism
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.support.servers import start_dovecot, stop_all


def _read(host: str, port: int, user: str, password: str) -> tuple[int, int]:
    session = open_session(ImapSettings(host, port, IMAPSecurityMechanism.NONE),
                           SimpleLogin(user, password))
    count = size = 0
    try:
        source = EngineSource(session)
        for folder in source.list_folders():
            if not folder.selectable:
                continue
            status = source.select(folder)
            if not status.exists:
                continue
            listing = source.listing(folder, fingerprints_from_uid=2**32, status=status)
            for _uid, raw in source.fetch_bodies([m.uid for m in listing]):
                count += 1
                size += len(raw or b"")
    finally:
        session.close()
    return count, size


def child(mode: str, host: str, port: int, password: str) -> None:
    started = time.perf_counter()
    if mode == "read":
        counts = [_read(host, port, user, password) for user in ("user1", "user2")]
        result: dict[str, object] = {"messages": sum(c for c, _ in counts),
                                     "bytes": sum(b for _, b in counts)}
    else:
        a = ImapSource(ImapSpec(host, port, "user1", password))
        b = ImapSource(ImapSpec(host, port, "user2", password))
        try:
            report = compare(a, b)
        finally:
            a.close()
            b.close()
        result = {"messages": report.messages_compared, "identical": report.identical,
                  "differences": report.differences}
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result))


def _run_child(mode: str, host: str, port: int, password: str) -> dict[str, object]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench_proof", "--child", mode, host, str(port),
         password], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {mode} child failed")
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_proof")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=43)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "HOST", "PORT", "PASSWORD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, host, port, password = args.child
        child(mode, host, int(port), password)
        return 0
    server = start_dovecot(nusers=2)
    try:
        corpus = generate(args.seed, args.count, "bench")
        started = time.perf_counter()
        for user in ("user1", "user2"):
            load_imap(ImapParams(server.host, server.port, user, server.password), corpus)
        print(f"loaded {args.count} messages twice in {time.perf_counter() - started:.1f} s")
        print(f"{'round':>5} {'read s':>8} {'proof s':>8} {'ratio':>6} {'read cpu':>8} "
              f"{'proof cpu':>9} {'read MB':>8} {'proof MB':>9}  verdict")
        for round_no in range(1, args.rounds + 1):
            # alternate the order, so that background load falls on both alike
            if round_no % 2:
                read = _run_child("read", server.host, server.port, server.password)
                proof = _run_child("proof", server.host, server.port, server.password)
            else:
                proof = _run_child("proof", server.host, server.port, server.password)
                read = _run_child("read", server.host, server.port, server.password)
            ratio = float(proof["seconds"]) / float(read["seconds"])  # type: ignore[arg-type]
            verdict = "IDENTICAL" if proof["identical"] else f"{proof['differences']} differences"
            print(f"{round_no:>5} {read['seconds']:>8.2f} {proof['seconds']:>8.2f} "
                  f"{ratio:>6.2f} {read['cpu_seconds']:>8.2f} {proof['cpu_seconds']:>9.2f} "
                  f"{read['peak_rss_mb']:>8.1f} {proof['peak_rss_mb']:>9.1f}"
                  f"  {verdict} ({proof['messages']} messages compared, "
                  f"{int(read['bytes']) // (1024 * 1024)} MB read)")  # type: ignore[call-overload]
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
