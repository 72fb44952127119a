"""Soak: many SIGKILLs of the runner while the source changes, through links that get cut.

Not part of the test suite; run it on demand (docs/soak.md has the command and the figures)::

    .venv/bin/python -m scripts.soak --seed 1 --kills 100 --min-cuts 50

What it does, all through the real ``imsh`` console script:

1. starts two Dovecot servers on 127.0.0.1 (tests/support/servers.py), loads a seeded corpus
   into the source mailbox, and puts a loopback TCP proxy in front of each server
   (tests/support/tcp_proxy.py);
2. creates the endpoints (through the proxies) and batch B with ``-AutoStart``;
3. arms the proxies: each new connection is cut, with probability ``--cut-chance``, after a
   random number of bytes (source side: bytes to imsh; target side: bytes from imsh);
4. rounds until ``--kills`` SIGKILLs landed: once the initial sync is done, change the source
   at random (new mail, deletions, flag and keyword changes, moves between folders, a folder
   created or renamed), ask for a pass (``Set-MigrationBatch -SyncNow``, which also launches a
   runner and retries a user waiting in backoff), wait until the runner logs the pass's start,
   wait a random moment more and SIGKILL every runner process serving the state; every
   ``--settle-every`` rounds the pass is let finish;
5. keeps going until at least ``--min-cuts`` connections were cut, then heals the links, runs a
   last pass and compares source and target with the engine's comparer.

It prints the figures (kills, cuts, passes, messages, lost, duplicated, flag and date
differences) as one JSON line and exits 0 only when the two mailboxes are identical. Every
random choice comes from ``--seed``; the runs are bounded by ``--max-minutes``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.support.servers import start_dovecot, stop_all
from tests.support.tcp_proxy import Fault, LinkFaults, TcpProxy

ROOT = Path(__file__).resolve().parents[1]
SETTLED = ("Synced", "IncrementalSynced")
PASS_STARTED = ("starting the initial sync", "starting the incremental sync")
PASS_FINISHED = ("synchronization completed",)


@dataclass
class Figures:
    kills: int = 0
    kills_in_pass: int = 0  # landed after a pass started and before it finished
    rounds: int = 0
    passes: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    cuts: int = 0
    messages: int = 0
    lost: int = 0
    duplicated: int = 0
    extra: int = 0
    flag_differences: int = 0
    date_differences: int = 0
    folders_missing: int = 0
    folders_extra: int = 0
    seconds: float = 0.0


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.figures = Figures()
        self.work = Path(args.work or tempfile.mkdtemp(prefix="imsh-soak-", dir="/tmp"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.source_proxy: TcpProxy | None = None
        self.target_proxy: TcpProxy | None = None
        self.state = self.work / "state"
        self.new_mail = 0
        self.started = time.monotonic()

    # --- set-up ----------------------------------------------------------------------------

    def setup(self) -> None:
        self.source = start_dovecot(nusers=1)
        self.target = start_dovecot(nusers=1)
        self.source_user, self.target_user = self.source.users[0], self.target.users[0]
        corpus = generate(self.args.seed, self.args.messages, max_size=self.args.max_size)
        load_imap(ImapParams(self.source.host, self.source.port, self.source_user,
                             self.source.password), corpus)
        self.source_proxy = TcpProxy(self.source.host, self.source.port)
        self.target_proxy = TcpProxy(self.target.host, self.target.port)
        (self.work / "users.csv").write_text(
            "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
            f"{self.source_user}@example.org,{self.source_user},{self.source.password},"
            f"{self.target_user},{self.target.password}\n", encoding="utf-8")
        self.imsh(f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 "
                  f"-Port {self.proxies.source.port} -Security None | Out-Null; "
                  f"New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 "
                  f"-Port {self.proxies.target.port} -Security None | Out-Null", check=True)
        self.arm_faults()
        self.imsh("New-MigrationBatch -Name B -SourceEndpoint Source -TargetEndpoint Target "
                  "-CSVData ([System.IO.File]::ReadAllBytes('users.csv')) -AutoStart | Out-Null",
                  check=True)

    def arm_faults(self) -> None:
        for proxy, side in ((self.proxies.source, "down"), (self.proxies.target, "up")):
            proxy.set_faults(_random_cuts(random.Random(self.rng.random()), side,
                                          self.args.cut_chance, self.args.cut_max_bytes))

    # --- imsh ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT),
               "IMSH_POLL_INTERVAL": "0.1", "IMSH_LEASE_TTL": "5",
               "IMSH_COMMAND_DEADLINE": "15"}
        env.pop("IMSH_SERVICE_SYNCER", None)
        return env

    def imsh(self, line: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        result = subprocess.run([*argv, "--state", str(self.state), "-c", line], cwd=self.work,
                                env=self.env(), capture_output=True, text=True, timeout=180,
                                check=False)
        if check and result.returncode != 0:
            raise SystemExit(f"soak: {line!r} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def user_status(self) -> str:
        result = self.imsh(f"(Get-MigrationUser -Identity {self.source_user}@example.org).Status")
        return result.stdout.strip()

    def runner_pids(self) -> list[int]:
        needle = f"--state\0{self.state}\0service"
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if needle in cmdline and stat[stat.rfind(")") + 2] not in "ZX":
                found.append(int(entry.name))
        return found

    # --- rounds ----------------------------------------------------------------------------

    def ask_for_a_pass(self) -> None:
        result = self.imsh("Set-MigrationBatch -Identity B -SyncNow")
        if result.returncode != 0:
            self.imsh("Start-MigrationBatch -Identity B")

    def kill_runners(self) -> int:
        killed = 0
        for pid in self.runner_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        return killed

    def settle(self, timeout: float) -> bool:
        """Wait until the user is synced and no runner is left; False on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.user_status() in SETTLED and not self.runner_pids():
                return True
            if not self.runner_pids():
                self.ask_for_a_pass()  # e.g. a backoff after a cut: retry now
            time.sleep(0.5)
        return False

    def round(self) -> None:
        self.figures.rounds += 1
        if self.user_status() in SETTLED:
            self.change_source()
        started, finished = self.log_count(PASS_STARTED), self.log_count(PASS_FINISHED)
        self.ask_for_a_pass()
        waited = _wait(lambda: bool(self.runner_pids()), 10)
        if not waited:
            return
        # the kill lands a random moment after the pass started (or, when none started within
        # 10 s, wherever the runner is)
        _wait(lambda: self.log_count(PASS_STARTED) > started, 10)
        time.sleep(self.rng.uniform(0.0, self.args.max_kill_delay))
        in_pass = (self.log_count(PASS_STARTED) > started
                   and self.log_count(PASS_FINISHED) == finished)
        killed = self.kill_runners()
        self.figures.kills += killed
        if killed and in_pass:
            self.figures.kills_in_pass += 1
        if self.figures.rounds % self.args.settle_every == 0:
            self.settle(180)

    def run(self) -> Figures:
        try:
            self.setup()
            budget = self.args.max_minutes * 60
            while (self.figures.kills < self.args.kills or self.cuts() < self.args.min_cuts):
                if time.monotonic() - self.started > budget:
                    print("soak: time budget spent", file=sys.stderr)
                    break
                self.round()
                if self.figures.rounds % 10 == 0:
                    print(f"soak: round {self.figures.rounds}, {self.figures.kills} kills, "
                          f"{self.cuts()} cuts", file=sys.stderr, flush=True)
            self.proxies.source.set_faults(None)
            self.proxies.target.set_faults(None)
            self.ask_for_a_pass()
            if not self.settle(300):
                print("soak: the last pass did not settle", file=sys.stderr)
            self.ask_for_a_pass()  # one more clean pass: nothing may change
            self.settle(300)
            self.figures.cuts = self.cuts()
            self.figures.passes = self.passes()
            self.tally()
        finally:
            self.kill_runners()
            for proxy in (self.source_proxy, self.target_proxy):
                if proxy is not None:
                    proxy.close()
            stop_all()
        self.figures.seconds = round(time.monotonic() - self.started, 1)
        return self.figures

    @property
    def proxies(self) -> _Proxies:
        assert self.source_proxy is not None and self.target_proxy is not None
        return _Proxies(self.source_proxy, self.target_proxy)

    def cuts(self) -> int:
        return self.proxies.source.cuts + self.proxies.target.cuts

    def passes(self) -> int:
        return self.log_count(PASS_FINISHED)

    def log_count(self, texts: tuple[str, ...]) -> int:
        """How often the service log says one of ``texts``."""
        logs = self.state / "logs"
        total = 0
        for path in logs.glob("imsh-service.log*"):
            content = path.read_text(errors="replace")
            total += sum(content.count(text) for text in texts)
        return total

    def tally(self) -> None:
        a = ImapSource(ImapSpec(self.source.host, self.source.port, self.source_user,
                                self.source.password))
        b = ImapSource(ImapSpec(self.target.host, self.target.port, self.target_user,
                                self.target.password))
        try:
            report = compare(a, b)
        finally:
            a.close()
            b.close()
        f = self.figures
        f.messages = sum(d.count_a for d in report.folders)
        f.lost = sum(len(d.missing) + len(d.altered) for d in report.folders)  # content lost
        f.duplicated = sum(len(d.duplicated) for d in report.folders)
        f.extra = sum(len(d.extra) for d in report.folders)
        f.flag_differences = sum(len(d.flags) + len(d.keywords) for d in report.folders)
        f.date_differences = sum(len(d.dates) for d in report.folders)
        f.folders_missing = len(report.folders_missing)
        f.folders_extra = len(report.folders_extra)
        if not report.identical:
            (self.work / "compare.txt").write_text(report.format(), encoding="utf-8")
            print(report.format()[:6000], file=sys.stderr)

    # --- changing the source ---------------------------------------------------------------

    def change_source(self) -> None:
        client = self.source.login(self.source_user)
        try:
            for _ in range(self.rng.randint(1, 4)):
                change = self.rng.choice(("new", "new", "delete", "flags", "flags", "move",
                                          "folder"))
                getattr(self, f"_change_{change}")(client)
                self.figures.changes[change] = self.figures.changes.get(change, 0) + 1
        finally:
            client.logout()

    def _folders(self, client: IMAPClient) -> list[str]:
        return [name for flags, _sep, name in client.list_folders()
                if b"\\Noselect" not in flags and b"\\NonExistent" not in flags]

    def _some(self, client: IMAPClient, folder: str, most: int) -> list[int]:
        client.select_folder(folder)
        uids = sorted(client.search(["ALL"]))
        return self.rng.sample(uids, min(len(uids), self.rng.randint(1, most)))

    def _change_new(self, client: IMAPClient) -> None:
        folder = self.rng.choice(self._folders(client))
        for _ in range(self.rng.randint(1, 5)):
            self.new_mail += 1
            body = os.urandom(self.rng.randint(100, 20_000)).hex()
            raw = (f"From: soak@example.org\r\nTo: {self.source_user}@example.org\r\n"
                   f"Subject: soak {self.new_mail}\r\n"
                   f"Message-ID: <soak-{self.args.seed}-{self.new_mail}@example.org>\r\n"
                   f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n\r\n{body}\r\n").encode()
            flags = self.rng.choice(([], ["\\Seen"], ["\\Seen", "\\Flagged"], ["$Soak"]))
            client.append(folder, raw, flags)

    def _change_delete(self, client: IMAPClient) -> None:
        folder = self.rng.choice(self._folders(client))
        uids = self._some(client, folder, 3)
        if uids:
            client.delete_messages(uids)
            client.expunge()

    def _change_flags(self, client: IMAPClient) -> None:
        folder = self.rng.choice(self._folders(client))
        uids = self._some(client, folder, 8)
        if not uids:
            return
        flags = self.rng.choice((["\\Seen"], ["\\Flagged"], ["\\Answered"], ["$Label1"],
                                 ["Work"]))
        if self.rng.random() < 0.5:
            client.add_flags(uids, flags)
        else:
            client.remove_flags(uids, flags)

    def _change_move(self, client: IMAPClient) -> None:
        folders = self._folders(client)
        if len(folders) < 2:
            return
        source, target = self.rng.sample(folders, 2)
        uids = self._some(client, source, 4)
        if uids:
            client.move(uids, target)

    def _change_folder(self, client: IMAPClient) -> None:
        soak = [name for name in self._folders(client) if name.startswith("Soak")]
        if soak and self.rng.random() < 0.6:
            old = self.rng.choice(soak)
            client.rename_folder(old, f"Soak{self.rng.randint(1000, 9999)}")
            return
        name = f"Soak{self.rng.randint(1000, 9999)}"
        if name in self._folders(client):
            return
        client.create_folder(name)
        client.append(name, f"Subject: in {name}\r\nMessage-ID: <{name}-{self.args.seed}@x>"
                            f"\r\n\r\nhello\r\n".encode(), ["\\Seen"])


@dataclass(frozen=True)
class _Proxies:
    source: TcpProxy
    target: TcpProxy


def _random_cuts(rng: random.Random, side: str, chance: float,
                 most: int) -> Callable[[int], LinkFaults | None]:
    lock = threading.Lock()

    def plan(_index: int) -> LinkFaults | None:
        with lock:
            if rng.random() >= chance:
                return None
            fault = Fault("cut", after=rng.randint(200, most))
        return LinkFaults(down=fault) if side == "down" else LinkFaults(up=fault)

    return plan


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs to land (at least)")
    parser.add_argument("--min-cuts", type=int, default=50, help="connection cuts (at least)")
    parser.add_argument("--messages", type=int, default=300, help="initial corpus size")
    parser.add_argument("--max-size", type=int, default=96 * 1024, help="largest message")
    parser.add_argument("--cut-chance", type=float, default=0.3,
                        help="share of connections that get cut")
    parser.add_argument("--cut-max-bytes", type=int, default=1_500_000,
                        help="a cut lands after 200..N bytes")
    parser.add_argument("--max-kill-delay", type=float, default=1.5,
                        help="a kill lands 0..N s after the pass started")
    parser.add_argument("--settle-every", type=int, default=8,
                        help="let every N-th round's pass finish")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="time budget")
    parser.add_argument("--work", help="work directory (default: a new one under /tmp)")
    args = parser.parse_args(argv)
    figures = Soak(args).run()
    print(json.dumps(figures.__dict__, sort_keys=True))
    clean = (figures.lost == figures.duplicated == figures.extra == figures.flag_differences
             == figures.date_differences == figures.folders_missing == figures.folders_extra
             == 0)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
