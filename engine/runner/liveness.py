"""Lease owners that are provably dead: their leases are free at once, not after the TTL.

A runner killed by SIGKILL (the OOM killer, a reboot) cannot release its leases; waiting for
them to expire (60 s) left its users Syncing with nobody working on them, and made shells
believe a runner existed, so Start-MigrationBatch and -SyncNow launched nothing. Every owner
name says who holds the lease::

    host:pid:start:nonce      start = the process's start time (/proc/PID/stat field 22,
                              clock ticks since boot), nonce = random hex

``host`` is the host identity of engine/paths.py: ``$IMSH_HOST_ID``, else the hostname
(:attr:`StatePaths.host`). Give every host its own (the hostname normally is; several runner
"hosts" on one machine, e.g. in network namespaces, share one PID space and must each set
``IMSH_HOST_ID``). A lease's owner is **provably dead** when it ran on this host and either no
process has its PID any more (or only a zombie does), or the process with that PID started at
another time (the PID was reused). Anything else — another host, an owner name of the older
``host:pid:nonce`` form whose PID is alive, a machine without /proc — is left to the lease's
expiry: a host never judges another host's processes, it waits for their leases to expire.
A dead owner writes nothing more, so deleting its leases is safe; the sync state's intent rows
make the pass it left half done resumable (docs/state.md).

:func:`provably_dead` is the pure decision (literal-input tests); :func:`read_process_start`
reads /proc; :func:`free_dead_leases` deletes the dead owners' leases (each only if that owner
still holds it).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.paths import host_id
from engine.store import Store
from engine.store.leases import Lease

log = logging.getLogger(__name__)

# what a process lookup may answer: its start time, None (no such live process), or UNKNOWN
UNKNOWN = -1
ProcessLookup = Callable[[int], int | None]


@dataclass(frozen=True)
class OwnerId:
    """Who a lease owner name says it is; ``start`` is None for the older three-part names."""

    host: str
    pid: int
    start: int | None


def owner_name(host: str, pid: int, start: int | None, nonce: str) -> str:
    """The owner name of a process (see the module docstring)."""
    return f"{host}:{pid}:{start if start is not None else 0}:{nonce}"


def parse_owner(text: str) -> OwnerId | None:
    """The parts of an owner name, or None when it is not one of ours."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[0] or not parts[1].isdigit():
        return None
    start = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None
    return OwnerId(parts[0], int(parts[1]), start or None)


def provably_dead(owner: OwnerId, this_host: str, running_start: int | None) -> bool:
    """Is ``owner`` dead for certain? ``running_start`` is what this host knows of the PID:
    the start time of the live process holding it, None when there is none, UNKNOWN when this
    host cannot tell."""
    if owner.host != this_host or running_start == UNKNOWN:
        return False
    if running_start is None:
        return True
    return owner.start is not None and running_start != owner.start


def read_process_start(pid: int, proc: Path = Path("/proc")) -> int | None:
    """The start time of live process ``pid`` (clock ticks since boot), None when there is no
    such process or only a zombie, UNKNOWN without /proc."""
    if not (proc / "self" / "stat").exists():
        return UNKNOWN
    try:
        text = (proc / str(pid) / "stat").read_text(errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return UNKNOWN
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19]) if fields[19].isdigit() else UNKNOWN


def this_host() -> str:
    """This host's identity when no state paths say it (``$IMSH_HOST_ID``, else the
    hostname)."""
    return host_id()


def new_owner(host: str | None = None) -> str:
    """A lease owner name for this process on ``host`` (default :func:`this_host`): host,
    pid, start time and a random part."""
    pid = os.getpid()
    start = read_process_start(pid)
    return owner_name(host or this_host(), pid, start if start not in (None, UNKNOWN) else None,
                      uuid.uuid4().hex[:8])


def owner_dead(owner: str, lookup: ProcessLookup = read_process_start,
               host: str | None = None) -> bool:
    """Is the lease owner named ``owner`` provably dead, as far as this host can tell?"""
    parsed = parse_owner(owner)
    if parsed is None:
        return False
    here = host if host is not None else this_host()
    return provably_dead(parsed, here, lookup(parsed.pid) if parsed.host == here else UNKNOWN)


def free_dead_leases(store: Store, now: datetime | None = None, prefix: str = "",
                     lookup: ProcessLookup = read_process_start) -> list[Lease]:
    """Delete the unexpired leases (on resources starting with ``prefix``) whose owner is
    provably dead; returns them."""
    freed = []
    for lease in store.leases.active(now, prefix):
        if owner_dead(lease.owner, lookup, store.paths.host) \
                and store.leases.release(lease.resource, lease.owner):
            log.info("freed the lease %s: its owner %s is no longer running", lease.resource,
                     lease.owner)
            freed.append(lease)
    return freed


def live_leases(store: Store, now: datetime | None = None, prefix: str = "",
                lookup: ProcessLookup = read_process_start) -> list[Lease]:
    """The unexpired leases whose owner is not provably dead (read only)."""
    return [lease for lease in store.leases.active(now, prefix)
            if not owner_dead(lease.owner, lookup, store.paths.host)]
