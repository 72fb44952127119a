"""A throwaway PostgreSQL cluster for the tests: Debian's postgresql-15 binaries, ``initdb`` in
a temp dir, ``pg_ctl`` listening only on a Unix socket in that dir (no TCP port to collide on).

initdb refuses to run as root; under root the cluster is created and run as the ``postgres``
system user (Debian's package creates it) and the temp dir is handed to that user. The test
process, as root, reaches the socket whatever its owner; as any other user the cluster simply
runs as that user. Durability is switched off (``fsync=off`` ...): the cluster dies with the
session, and the tests are about SQL, not about PostgreSQL's crash safety.

Each test gets a database of its own (:meth:`PgCluster.fresh_database`), created from the
empty ``template0`` with the C collation, so orderings match SQLite's byte order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("IMSH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "imsh_test"


class NoPostgres(RuntimeError):
    """This machine cannot run a PostgreSQL cluster (binaries or the postgres user missing)."""


@dataclass
class PgCluster:
    root: Path
    socket_dir: Path
    port: int
    run_as: str | None
    _counter: itertools.count[int]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER,
             "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def fresh_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                          "LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.url(name)

    def restart(self) -> None:
        """Stop and start the server (``-m fast``: open connections are cut)."""
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l",
                   str(self.root / "log"), "-m", "fast", "-w", "-t", "60", "restart"])

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
                       "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, argv: list[str]) -> None:
        _run(argv, self.run_as)


def _run(argv: list[str], run_as: str | None, outer: bool = False) -> None:
    """Run ``argv`` as ``run_as``; ``outer``: its first four words (``ip netns exec NS``) are
    run as root, the rest as that user."""
    if run_as is not None:
        head, tail = (argv[:4], argv[4:]) if outer else ([], argv)
        argv = [*head, "runuser", "-u", run_as, "--", *tail]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout}")


def start_cluster(port: int, listen: str | None = None, netns: str | None = None,
                  trusted_network: str | None = None) -> PgCluster:
    """initdb + pg_ctl start; raises :class:`NoPostgres` when the machine cannot.

    By default the server listens on its Unix socket only. ``listen``: also on that TCP
    address, started inside network namespace ``netns`` (tests/support/netns.py), trusting
    logins from ``trusted_network`` (a CIDR such as ``10.77.5.0/24``); the Unix socket still
    serves this process, whatever namespace it is in."""
    if not (PG_BIN / "initdb").exists():
        raise NoPostgres(f"no PostgreSQL binaries in {PG_BIN} (apt-get install postgresql-15)")
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise NoPostgres("running as root and there is no 'postgres' user") from exc
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="imsh-pg-"))
    if run_as is not None:
        shutil.chown(root, run_as, run_as)
    cluster = PgCluster(root, root, port, run_as, itertools.count(1))
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
              "--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8"], run_as)
        if trusted_network is not None:
            with (root / "data" / "pg_hba.conf").open("a", encoding="ascii") as hba:
                hba.write(f"host all all {trusted_network} trust\n")
        options = (f"-k {root} -p {port} -c listen_addresses='{listen or ''}' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        inside = ["ip", "netns", "exec", netns] if netns else []
        _run([*inside, str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-l",
              str(root / "log"), "-o", options, "-w", "-t", "60", "start"], run_as,
             outer=netns is not None)
    except BaseException:
        cluster.stop()
        raise
    return cluster
