# ruff: noqa: F811  (the fixture paths is imported and then requested)
"""Host identity (``IMSH_HOST_ID``, engine/paths.py) in leases, on SQLite and PostgreSQL.

A lease names the host that took it; the "provably dead owner" shortcut
(engine/runner/liveness.py) frees a dead process's leases only on that process's own host. A
runner on any other host waits for the lease to expire, even when the same PID is free on its
machine (runner "hosts" in network namespaces share one PID space).
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import replace
from datetime import timedelta

from engine.paths import StatePaths, resolve_state_paths
from engine.runner import Runner, SyncOutcome
from engine.runner.liveness import free_dead_leases, owner_name
from engine.store import Store
from tests.engine.store.test_store import paths  # noqa: F401  (both backends)

TTL = timedelta(minutes=1)


def test_the_host_id_comes_from_imsh_host_id_else_the_hostname() -> None:
    assert resolve_state_paths("/tmp/x", env={"IMSH_HOST_ID": "migr-02"}).host == "migr-02"
    # a ':' would break the owner names host:pid:start:nonce
    assert resolve_state_paths("/tmp/x", env={"IMSH_HOST_ID": " db:2 a "}).host == "db-2-a"
    assert resolve_state_paths("/tmp/x", env={}).host == socket.gethostname()
    assert resolve_state_paths("/tmp/x", env={"IMSH_HOST_ID": ""}).host == socket.gethostname()


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_dead_owner_is_freed_at_once_only_on_its_own_host(paths: StatePaths) -> None:
    owner = owner_name("host-a", dead_pid(), None, "ab12cd34")
    with Store.open(replace(paths, host="host-a")) as on_a:
        assert on_a.leases.claim("user:1", owner, TTL) is not None
        lease = on_a.leases.get("user:1")
        assert lease is not None and lease.host == "host-a"
    with Store.open(replace(paths, host="host-b")) as on_b:
        assert free_dead_leases(on_b) == []  # not its process to judge: wait for the expiry
        assert on_b.leases.get("user:1") is not None
    with Store.open(replace(paths, host="host-a")) as on_a:
        assert [lease.owner for lease in free_dead_leases(on_a)] == [owner]
        assert on_a.leases.get("user:1") is None


def test_a_runner_names_its_host_in_its_owner_and_leases(paths: StatePaths) -> None:
    on_c = replace(paths, host="host-c")
    runner = Runner(on_c, lambda factory, job, token: SyncOutcome.ok())
    assert runner.owner.startswith("host-c:")
    with Store.open(on_c) as store:
        store.leases.claim(runner.runner_resource, runner.owner, TTL)
        lease = store.leases.get(runner.runner_resource)
    assert lease is not None and lease.host == "host-c"
