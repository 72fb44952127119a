"""Does watching a migration slow it down, and does the dashboard stay responsive meanwhile?

    python -m scripts.bench_dashboard [--users 50] [--messages 20]

Two migrations of the same-sized batch from a throwaway Dovecot into another (fresh target
mailboxes each time): first unwatched, then with ``imsh dashboard`` running and a client
fetching ``/``, ``/batches/B1``, ``/api/overview.json``, ``/api/batches/B1`` and the
throughput chart every 0.5 s (what a few open browser tabs do), timing each answer.
Prints both wall times and the answers' latencies (all, and page by page) with the load.
A development tool (needs tests/support), not part of imsh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from scripts.corpus import ImapParams, generate, load_imap
from tests.dashboard.support import Dashboard, run_script, start_dashboard
from tests.support.ports import free_port
from tests.support.servers import ImapServer, start_dovecot, stop_all

PAGES = ("/", "/batches/B1", "/api/overview.json", "/api/batches/B1",
         "/chart/throughput.svg?batch=B1")


def migrate(base: Path, source: ImapServer, src_users: list[str], target: ImapServer,
            dst_users: list[str], watch: bool) -> tuple[float, list[tuple[str, float]], float]:
    state, work = base / "state", base / "work"
    work.mkdir(parents=True)
    rows = [f"u{i}@contoso.com,{s},{source.password},{d},{target.password}"
            for i, (s, d) in enumerate(zip(src_users, dst_users, strict=True))]
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n" + "\n".join(rows)
        + "\n", encoding="utf-8")
    run_script(state, work, "create", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {source.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) | Out-Null
""")  # noqa: E501
    latencies: list[tuple[str, float]] = []
    failures: list[str] = []
    dashboard: Dashboard | None = None
    done = threading.Event()
    poller: threading.Thread | None = None
    if watch:
        dashboard = start_dashboard(state, free_port())
        dashboard.log_in()
        watched = dashboard

        def poll() -> None:
            while not done.is_set():
                for path in PAGES:
                    began = time.perf_counter()
                    answer = watched.request(path)
                    latencies.append((path, time.perf_counter() - began))
                    if answer.status != 200:
                        failures.append(f"{path}: {answer.status} {answer.text[:300]}")
                done.wait(0.5)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
    began = time.monotonic()
    run_script(state, work, "run", """
Start-MigrationBatch -Identity B1
$null = Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 1200
""")
    wall = time.monotonic() - began
    for failure in failures[:5]:
        print(f"FAILED: {failure}")
    done.set()
    if poller is not None:
        poller.join()
    cpu = 0.0
    if dashboard is not None:
        if dashboard.process is not None:
            cpu = cpu_seconds(dashboard.process.pid)
        dashboard.stop()
    return wall, latencies, cpu


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    options = parser.parse_args()
    load = Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
    source, target = start_dovecot(nusers=1), start_dovecot(nusers=1)
    try:
        src_users = source.add_users(options.users)
        for seed, user in enumerate(src_users):
            load_imap(ImapParams(source.host, source.port, user, source.password),
                      generate(seed, options.messages, max_size=8 * 1024))
        with TemporaryDirectory(prefix="imsh-bench-dashboard-") as tmp:
            plain, _, _ = migrate(Path(tmp) / "plain", source, src_users, target,
                               target.add_users(options.users), watch=False)
            watched, latencies, cpu = migrate(Path(tmp) / "watched", source, src_users, target,
                                         target.add_users(options.users), watch=True)
    finally:
        stop_all()
    print(f"{options.users} users x {options.messages} messages; load before: {load}")
    print(f"unwatched: {plain:.1f} s; watched: {watched:.1f} s "
          f"({(watched - plain) / plain * 100:+.1f} %); the dashboard used {cpu:.1f} CPU-s "
          f"({cpu / watched * 100:.1f} % of one core while watched)")
    for path in (None, *PAGES):
        ordered = sorted(t for p, t in latencies if path is None or p == path)
        if ordered:
            print(f"{path or 'all'}: {len(ordered)} answers while it migrated: median "
                  f"{statistics.median(ordered) * 1000:.0f} ms, 95th percentile "
                  f"{ordered[int(len(ordered) * 0.95)] * 1000:.0f} ms, max "
                  f"{ordered[-1] * 1000:.0f} ms")
    print(f"load after: {Path('/proc/loadavg').read_text(encoding='ascii').split()[:3]}")

if __name__ == "__main__":
    main()
