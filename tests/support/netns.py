"""Several "hosts" on this machine: Linux network namespaces on one bridge, for the multi-host
tests (tests/integration/test_multihost_runners.py) and the scale benchmark
(scripts/bench/scale.py).

:class:`Network` owns the plumbing: one bridge in this (the root) namespace with the address
``10.77.N.1/24`` — a private /24 that exists only on this machine, the first one not already on
an interface here — and one namespace per node, joined to the bridge by a veth pair, with the
address ``10.77.N.<k>``. This process (the "admin workstation") reaches every node through the
bridge. :meth:`Network.cut` separates two nodes (blackhole routes on both sides: packets between
them are dropped, as on a broken link, and a new connection fails at once) and
:meth:`Network.heal` joins them again.

:class:`Site` puts imsh on it: PostgreSQL (tests/support/postgres.py) listening on the node
``db``, the source and the target Dovecot (tests/support/servers.py) on the node ``mail``, and
runner hosts ``host1`` ... ``hostN``, each ``imsh --state DIR --database URL service`` as a
process of its own in its own namespace, with its own state directory, its own hostname (a UTS
namespace: ``unshare --uts``, so its lease owner names say ``hostK``, and no other host can see
that it died — its users wait for the lease TTL, as on real hosts) and the one sealing key file
the admin's state directory holds (``IMSH_KEY_FILE``, as distributed to every host).
:meth:`Site.kill` SIGKILLs one host's processes; :meth:`Site.cut` / :meth:`Site.heal` cut one
host off from PostgreSQL only (it still reaches Dovecot).

Everything is torn down by :meth:`Site.close` / :meth:`Network.close` (pytest finalisers), and
namespaces and links left by a process that died without it are removed by the next
:class:`Network` (their names carry the creating process's PID). Needs root and ``ip``;
:func:`unavailable` says why not, for a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import PgCluster, start_cluster
from tests.support.servers import ImapServer, start_dovecot

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "imsh"  # namespaces imsh<pid>-<node>; links imb<pid> (bridge), imv<pid>k (veth)
SUBNET = "10.77"
PG_PORT = 5432
_LOCK = Path("/run/imsh-netns.lock")


class NetnsError(RuntimeError):
    """A namespace, link or route command failed."""


def unavailable() -> str | None:
    """Why this process cannot build namespaces (a skip reason), or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "iproute2's ip or util-linux's unshare is not installed"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        _ip("netns", "add", probe)
    except NetnsError as exc:
        return f"cannot create a network namespace here: {exc}"
    _ip("netns", "del", probe, check=False)
    return None


def _ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Node:
    """One namespace on the bridge: a "host" with an address of its own."""

    name: str
    netns: str
    address: str

    def argv(self, *argv: str) -> list[str]:
        """``argv`` run inside this node's namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]


class Network:
    """A bridge and namespaces joined to it (see the module docstring)."""

    def __init__(self) -> None:
        self.tag = str(os.getpid())
        self.bridge = f"imb{self.tag}"
        self.nodes: dict[str, Node] = {}
        self._links: list[str] = []
        self._cuts: set[tuple[str, str]] = set()
        remove_leftovers()
        with _locked():
            self.prefix = f"{SUBNET}.{_free_third_octet()}"
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.prefix}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    @property
    def cidr(self) -> str:
        return f"{self.prefix}.0/24"

    def add(self, name: str) -> Node:
        """A new namespace on the bridge, with the next address."""
        index = len(self.nodes) + 2
        node = Node(name, f"{PREFIX}{self.tag}-{name}", f"{self.prefix}.{index}")
        outside, inside = f"imv{self.tag}{index}", f"imp{self.tag}{index}"
        _ip("netns", "add", node.netns)
        self.nodes[name] = node
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        self._links.append(outside)
        _ip("link", "set", inside, "netns", node.netns)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        _ip("-n", node.netns, "addr", "add", f"{node.address}/24", "dev", inside)
        _ip("-n", node.netns, "link", "set", inside, "up")
        _ip("-n", node.netns, "link", "set", "lo", "up")
        return node

    def cut(self, a: Node, b: Node) -> None:
        """Drop every packet between ``a`` and ``b`` (both directions) until :meth:`heal`."""
        _ip("-n", a.netns, "route", "add", "blackhole", f"{b.address}/32")
        _ip("-n", b.netns, "route", "add", "blackhole", f"{a.address}/32")
        self._cuts.add((a.name, b.name))

    def heal(self, a: Node, b: Node) -> None:
        _ip("-n", a.netns, "route", "del", "blackhole", f"{b.address}/32", check=False)
        _ip("-n", b.netns, "route", "del", "blackhole", f"{a.address}/32", check=False)
        self._cuts.discard((a.name, b.name))

    def close(self) -> None:
        """Remove the namespaces, links and the bridge (processes still inside are killed)."""
        for node in self.nodes.values():
            kill_namespace_processes(node.netns)
            _ip("netns", "del", node.netns, check=False)
        for link in self._links:
            _ip("link", "del", link, check=False)
        _ip("link", "del", self.bridge, check=False)
        self.nodes.clear()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialises picking a subnet among parallel test sessions on this machine."""
    with open(_LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_third_octet() -> int:
    used = {int(m.group(1)) for m in re.finditer(rf"\b{re.escape(SUBNET)}\.(\d+)\.",
                                                _ip("-4", "-o", "addr"))}
    for octet in range(10, 250):
        if octet not in used:
            return octet
    raise NetnsError(f"no free {SUBNET}.N.0/24 on this machine")


def namespace_pids(netns: str) -> list[int]:
    """The processes in namespace ``netns``."""
    return [int(pid) for pid in _ip("netns", "pids", netns, check=False).split()]


def kill_namespace_processes(netns: str) -> None:
    """SIGKILL every process in namespace ``netns`` (a runner, Dovecot, PostgreSQL)."""
    for pid in namespace_pids(netns):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_leftovers() -> None:
    """Namespaces and links of earlier sessions whose process is gone (a crash, a kill -9)."""
    def dead(tag: str) -> bool:
        return not Path(f"/proc/{tag}").exists()

    for line in _ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        found = re.fullmatch(rf"{PREFIX}(\d+)-\S+", name)
        if found and dead(found.group(1)):
            kill_namespace_processes(name)
            _ip("netns", "del", name, check=False)
    # a namespace's veth pair goes with it; the bridge stays
    for line in _ip("-o", "link", check=False).splitlines():
        found = re.search(r"^\d+: imb(\d+)[@:]", line)
        if found and dead(found.group(1)):
            _ip("link", "del", f"imb{found.group(1)}", check=False)


# ---- imsh on the network ------------------------------------------------------------------


@dataclass
class RunnerHost:
    """One runner "host": its node, state directory and ``imsh service`` process."""

    name: str
    node: Node
    state: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """The process's stdout and stderr."""
        return self.state / "service.out"

    @property
    def service_log(self) -> Path:
        """The runner's own log (``imsh-service.log``)."""
        return self.state / "logs" / "imsh-service.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Site:
    """PostgreSQL, Dovecot and runner hosts in namespaces (the module docstring)."""

    def __init__(self, runners: int, mail_users: int, work: Path,
                 target_users: int | None = None) -> None:
        """``mail_users`` users on the source (and on the target, unless ``target_users``)."""
        self.work = work
        self.net = Network()
        self.pg: PgCluster | None = None
        self.hosts: list[RunnerHost] = []
        try:
            self.db = self.net.add("db")
            self.mail = self.net.add("mail")
            nodes = [self.net.add(f"host{n}") for n in range(1, runners + 1)]
            self.pg = start_cluster(PG_PORT, listen=self.db.address, netns=self.db.netns,
                                    trusted_network=self.net.cidr)
            self.source = start_dovecot(mail_users, listen=self.mail.address,
                                        netns=self.mail.netns)
            self.target = start_dovecot(target_users or mail_users, listen=self.mail.address,
                                        netns=self.mail.netns)
            self.hosts = [RunnerHost(node.name, node, work / node.name) for node in nodes]
        except BaseException:
            self.close()
            raise

    @property
    def cluster(self) -> PgCluster:
        assert self.pg is not None
        return self.pg

    def fresh_database(self, prefix: str = "mh") -> str:
        """A new empty database; its URL over the network (what every host uses)."""
        local = self.cluster.fresh_database(prefix)
        name = local.split("/")[3].split("?")[0]
        return f"postgresql://imsh_test@{self.db.address}:{PG_PORT}/{name}"

    def start_runner(self, host: RunnerHost, database: str, key_file: Path,
                     env: dict[str, str] | None = None, config: str = "") -> None:
        """``imsh --state STATE --database URL service`` in ``host``'s namespace, with its own
        hostname; ``config``: the text of the host's imsh.yaml (its runner settings)."""
        host.state.mkdir(parents=True, exist_ok=True)
        if config:
            (host.state / "imsh.yaml").write_text(config, encoding="utf-8")
        imsh = shutil.which("imsh", path=str(Path(sys.executable).parent)) or shutil.which("imsh")
        command = [imsh] if imsh else [sys.executable, "-m", "shell.main"]
        argv = host.node.argv(
            "unshare", "--uts", "--", "sh", "-c", f'hostname {host.name} && exec "$@"', "sh",
            *command, "--state", str(host.state), "--database", database, "service")
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "IMSH_HOME": "",
                    "IMSH_KEY_FILE": str(key_file), **(env or {})}
        for inherited in ("IMSH_DATABASE", "IMSH_CONFIG"):
            full_env.pop(inherited, None)
        with host.log.open("ab") as out:
            host.process = subprocess.Popen(argv, env=full_env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=out, start_new_session=True)

    def kill(self, host: RunnerHost) -> None:
        """SIGKILL every process of ``host`` (the runner dies as in a power cut)."""
        kill_namespace_processes(host.node.netns)
        if host.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.process.pid, signal.SIGKILL)
            host.process.wait(timeout=30)

    def stop(self, host: RunnerHost, timeout: float = 60) -> int | None:
        """SIGTERM (a clean stop); the exit status, None if it had to be killed."""
        return self.stop_all([host], timeout)[0]

    def stop_all(self, hosts: list[RunnerHost], timeout: float = 60) -> list[int | None]:
        """SIGTERM to every one of ``hosts`` at once, then wait for each (see :meth:`stop`)."""
        for host in hosts:
            if host.process is not None and host.process.poll() is None:
                host.process.send_signal(signal.SIGTERM)
        return [self._reap(host, timeout) for host in hosts]

    def _reap(self, host: RunnerHost, timeout: float) -> int | None:
        if host.process is None:
            return None
        try:
            return host.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(host)
            return None

    def cut(self, host: RunnerHost) -> None:
        """Cut ``host`` off from PostgreSQL (it still reaches Dovecot)."""
        self.net.cut(host.node, self.db)

    def heal(self, host: RunnerHost) -> None:
        self.net.heal(host.node, self.db)

    def wait_for(self, condition: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout:.0f} s")
            time.sleep(0.2)

    def close(self) -> None:
        """Stop everything and remove the namespaces; safe to call after any failure."""
        for host in self.hosts:
            with contextlib.suppress(Exception):
                self.kill(host)
        servers = [server for server in (getattr(self, "source", None),
                                         getattr(self, "target", None))
                   if isinstance(server, ImapServer)]
        stopping = [threading.Thread(target=_quietly, args=(server.stop,)) for server in servers]
        for thread in stopping:  # a Dovecot stop takes a second or two: both at once
            thread.start()
        for thread in stopping:
            thread.join(timeout=120)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()
            self.pg = None
        self.net.close()


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        action()
