"""Incremental passes on one big folder: a no-change pass and a 1 % change pass, timed.

    python -m scripts.bench_incremental [--counts 10000,100000] [--target maildir|imap]
                                        [--engine /path/to/checkout] [--no-verify]

Starts a throwaway Dovecot source (and, with ``--target imap``, a Dovecot target), writes
``count`` small messages into one INBOX per count (tests/adversity/imapio_support.py
``fill_folder``), runs the initial pass in this process, then measures, each in a fresh
process (``python -c``: imports, store, connections and the pass; what the runner pays per
pass, without the shell): a pass with nothing changed, then a pass after a 1 % change (a third
of it flagged, a third expunged, a third new mail). Prints wall time, the pass alone, peak RSS
of that process (its VmHWM) and the machine's load. ``--engine`` runs the measured passes with
another checkout's ``engine`` (say /work/main) on the same state, for before/after figures;
the store schema must be the same. With verification on (default), source and target are
compared after the 1 % pass (scripts/compare.py). A benchmark, never a test: run it on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from engine.runner.jobs import OutcomeKind, SyncKind
from tests.adversity.imapio_support import fill_folder, message
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer, start_dovecot, stop_all

ROOT = Path(__file__).resolve().parents[1]

_PASS = """
import json, sys, time
started = time.monotonic()
from engine.paths import resolve_state_paths
from engine.runner.jobs import CancelToken, SyncJob, SyncKind
from engine.store import Store
from engine.sync.executor import SyncOptions, sync_user
state, user_id, address = sys.argv[1], int(sys.argv[2]), sys.argv[3]
paths = resolve_state_paths(state)
job = SyncJob(user_id, address, 1, SyncKind.incremental)
profile = sys.argv[4] if len(sys.argv) > 4 else ""
if profile:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
began = time.monotonic()
outcome = sync_user(lambda: Store.open(paths), job, CancelToken(),
                    options=SyncOptions(maildir_fsync=False))
ended = time.monotonic()
if profile:
    profiler.disable()
    import pstats
    with open(profile, "w") as out:
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
hwm = 0.0  # VmHWM: this process's own peak (ru_maxrss would keep the forking parent's)
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
print(json.dumps({"pass": ended - began, "kind": str(outcome.kind), "message": outcome.message,
                  "hwm": hwm}))
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    print(f"incremental bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, engine "
          f"{args.engine or ROOT}, target {args.target}", flush=True)
    try:
        source = start_dovecot(nusers=len(args.counts))
        target = start_dovecot(nusers=len(args.counts)) if args.target == "imap" else None
        for count in args.counts:
            _bench(source, target, count, args)
    finally:
        stop_all()
    return 0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_incremental",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10000,100000",
                        type=lambda t: [int(x) for x in t.split(",") if x])
    parser.add_argument("--target", choices=("maildir", "imap"), default="maildir")
    parser.add_argument("--engine", default="",
                        help="checkout whose engine runs the measured passes (default: this)")
    parser.add_argument("--no-verify", action="store_true", help="skip the comparison")
    parser.add_argument("--profile", default="",
                        help="write the measured passes' cProfile tops to PREFIX-*.txt")
    return parser.parse_args(argv)


def _bench(source: ImapServer, target: ImapServer | None, count: int,
           args: argparse.Namespace) -> None:
    user = source.fresh_user()
    fill_folder(source, user, "INBOX", count)
    env = SyncEnv(source, user, target, target.fresh_user() if target else None)
    try:
        began = time.monotonic()
        outcome = env.run(SyncKind.initial)
        assert outcome.kind is OutcomeKind.ok, outcome.message
        print(f"{count}: initial pass {time.monotonic() - began:.1f} s (this process)",
              flush=True)
        _checkpoint(env)
        _report(count, "no change", _measured(env, args.engine, _profile(args, count, "none")))
        _change_one_percent(source, user, count)
        _report(count, "1 % change", _measured(env, args.engine, _profile(args, count, "one")))
        if not args.no_verify:
            report = env.compare()
            print(f"{count}: copies {'identical' if report is None else 'DIFFER'}",
                  flush=True)
            if report is not None:
                print(report)
    finally:
        env.cleanup()


def _checkpoint(env: SyncEnv) -> None:
    """Fold the initial pass's write-ahead log into the database, so that the first measured
    pass does not pay for it when it closes the last connection (SQLite checkpoints then)."""
    with sqlite3.connect(env.paths.db) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _change_one_percent(source: ImapServer, user: str, count: int) -> None:
    """A third of 1 % flagged, a third expunged, a third delivered."""
    third = max(count // 300, 1)
    client = source.login(user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        step = max(len(uids) // (2 * third), 1)
        picked = uids[::step][:2 * third]
        client.add_flags(picked[:third], ["\\Flagged"])
        client.delete_messages(picked[third:])
        client.expunge()
        for n in range(third):
            client.append("INBOX", message(count + 1 + n), ["\\Seen"],
                          datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    finally:
        client.logout()


def _profile(args: argparse.Namespace, count: int, what: str) -> str:
    return f"{args.profile}-{count}-{what}.txt" if args.profile else ""


def _measured(env: SyncEnv, engine: str, profile: str = "") -> dict[str, float | str]:
    """One incremental pass in a fresh process: wall, pass alone, peak RSS (with
    ``profile``: under cProfile, which slows it; its top functions written there)."""
    code_root = engine or str(ROOT)
    child_env = {**os.environ, "PYTHONPATH": code_root}
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", _PASS, str(env.root / "state"), str(env.user_id), env.address,
         profile],
        cwd=code_root, env=child_env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - began
    if status != 0:
        raise SystemExit(f"the measured pass failed (status {status}): {out}")
    result = json.loads(out.strip().splitlines()[-1])
    if result["kind"] != "ok":
        raise SystemExit(f"the measured pass did not end well: {result}")
    del usage  # its ru_maxrss counts the bench's own pages the child had before exec
    return {"wall": wall, "pass": float(result["pass"]), "rss": float(result["hwm"]),
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])}


def _report(count: int, what: str, figures: dict[str, float | str]) -> None:
    print(f"{count}: {what}: whole process {figures['wall']:.2f} s, pass {figures['pass']:.2f} s,"
          f" peak RSS {figures['rss']:.0f} MB (load {figures['load']})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
