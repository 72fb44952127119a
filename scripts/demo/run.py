"""The demo migration (the README's first command).

Starts a throwaway Dovecot on 127.0.0.1 with a few users whose mailboxes are filled from the
seeded corpus, writes the migration CSV, runs ``demo.imsh`` through the real ``imsh``
console script into the default ``LocalMaildir`` target, then lets the comparer check every
mailbox against its copy.  Everything lives under one /tmp directory, removed at the end
unless ``--keep`` is given (then the state directory is left for ``imsh --state DIR``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts import compare, corpus

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE.parent / "servers" / "dovecot-test-server.sh"
PASSWORD = "pw"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    work = Path(tempfile.mkdtemp(prefix="imsh-demo-", dir="/tmp"))
    work.chmod(0o755)  # Dovecot's unprivileged processes must traverse it; state/ stays 0700
    server_dir = work / "dovecot"
    try:
        port = _start_dovecot(server_dir, args.users)
        users = [f"user{n}" for n in range(1, args.users + 1)]
        _fill_mailboxes(port, users, args.messages)
        _write_inputs(work, port, users)
        status = _run_imsh(work)
        identical = _check(work, port, users)
        return status or (0 if identical else 1)
    finally:
        subprocess.run([str(SERVER_SCRIPT), "stop", str(server_dir)], capture_output=True,
                       check=False)
        if args.keep:
            print(f"\nState kept: imsh --state {work / 'state'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--messages", type=int, default=200, help="messages per user")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_dovecot(server_dir: Path, users: int) -> int:
    for _ in range(5):
        port = _free_port()
        result = subprocess.run(
            [str(SERVER_SCRIPT), "start", str(server_dir), str(port), str(users)],
            capture_output=True, text=True, check=False,
            env={**os.environ, "MAIL_FSYNC": "never"},
        )
        if result.returncode == 0:
            print(f"Source: Dovecot on 127.0.0.1:{port} with {users} users")
            return port
        if result.returncode != 3:  # 3 = the port was taken: try another
            sys.exit(f"demo: Dovecot did not start:\n{result.stderr}")
    sys.exit("demo: no free port for Dovecot")


def _fill_mailboxes(port: int, users: list[str], count: int) -> None:
    for seed, user in enumerate(users, start=1):
        params = corpus.ImapParams("127.0.0.1", port, user, PASSWORD)
        stats = corpus.load_imap(params, corpus.generate(seed, count))
        print(f"  {user}: {stats.messages} messages loaded")


def _write_inputs(work: Path, port: int, users: list[str]) -> None:
    rows = ["EmailAddress,UserName,Password"]
    rows += [f"{user}@demo.example,{user},{PASSWORD}" for user in users]
    (work / "users.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    script = (HERE / "demo.imsh").read_text(encoding="utf-8").replace("{{PORT}}", str(port))
    (work / "demo.imsh").write_text(script, encoding="utf-8")


def _run_imsh(work: Path) -> int:
    print("\nRunning demo.imsh:\n")
    command = ["imsh", "--state", str(work / "state"), "demo.imsh"]
    return subprocess.run(command, cwd=work, check=False).returncode


def _check(work: Path, port: int, users: list[str]) -> bool:
    print("\nComparing every source mailbox with its copy in LocalMaildir:")
    all_identical = True
    for user in users:
        source = compare.open_source(f"imap://{user}:{PASSWORD}@127.0.0.1:{port}")
        target = compare.MaildirSource(work / "state" / "maildir" / f"{user}@demo.example")
        report = compare.compare(source, target)
        print(f"  {user}: {'identical' if report.identical else 'DIFFERENT'}")
        if not report.identical:
            print(report.format())
            all_identical = False
    return all_identical


if __name__ == "__main__":
    sys.exit(main())
