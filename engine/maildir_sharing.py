"""Maildir targets and several runner hosts: who may write into a Maildir endpoint's tree.

A Maildir endpoint is a directory on the machine that writes it. Runners on several hosts
(``IMSH_HOST_ID``, engine/paths.py) sharing one PostgreSQL state would each write into their
*own* directory of that name — every mailbox split across hosts, the resume path looking for
copies on the wrong disk. So a Maildir endpoint is bound to one host unless the administrator
marks it as storage every host shares (``-SharedStorage`` on New-/Set-MigrationEndpoint,
stored as ``extra["SharedStorage"]``; NFS or a cluster file system mounted at the same path on
every host):

- the first runner that claims a user of a batch into it binds it to its host
  (``extra["WriterHost"]``, in the claiming transaction, engine/runner/passes.py); a runner on
  any other host claims none of its users and says why in its log;
- Start-MigrationBatch refuses (``MaildirNotShared``) a batch into it when the runners serving
  the state and the host it is bound to are more than one host.

Only a PostgreSQL state is shared by hosts: with SQLite (a file on one machine) none of this
applies, so a single machine whose hostname changes keeps its Maildir. A PostgreSQL state whose
Maildir host was replaced rebinds with ``Set-MigrationEndpoint -Identity NAME
-SharedStorage:$false`` (it drops ``WriterHost``; the next claim binds the new host).

The decisions here are pure (literal-input tests); the callers read and write the rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

SHARED_STORAGE = "SharedStorage"
WRITER_HOST = "WriterHost"


def is_shared(extra: Mapping[str, Any]) -> bool:
    return bool(extra.get(SHARED_STORAGE))


def writer_host(extra: Mapping[str, Any]) -> str | None:
    host = extra.get(WRITER_HOST)
    return str(host) if host else None


def claim_refusal(name: str, path: str | None, extra: Mapping[str, Any],
                  this_host: str) -> str | None:
    """Why a runner on ``this_host`` must not sync into Maildir endpoint ``name`` (None: it
    may; if the endpoint is unbound, the caller binds it to ``this_host``)."""
    bound = writer_host(extra)
    if is_shared(extra) or bound is None or bound == this_host:
        return None
    return (f"The Maildir endpoint '{name}' ({path}) is written by the host '{bound}'; this "
            f"runner on '{this_host}' leaves its users to that host. If {path} is storage "
            "that every host mounts at the same path, mark it with "
            f"Set-MigrationEndpoint -Identity {name} -SharedStorage; if '{bound}' is gone "
            f"for good, Set-MigrationEndpoint -Identity {name} -SharedStorage:$false hands "
            "it to the next host that claims a user.")


def start_refusal(name: str, path: str | None, extra: Mapping[str, Any],
                  serving_hosts: Collection[str]) -> str | None:
    """Why Start-MigrationBatch must refuse a batch into Maildir endpoint ``name`` while
    runners on ``serving_hosts`` serve the state (None: it may start)."""
    if is_shared(extra):
        return None
    hosts = set(serving_hosts)
    bound = writer_host(extra)
    if bound is not None:
        hosts.add(bound)
    if len(hosts) <= 1:
        return None
    listed = ", ".join(sorted(hosts))
    return (f"The Maildir endpoint '{name}' ({path}) is not marked as shared storage, but "
            f"runners on several hosts ({listed}) serve this state: each would write its own "
            f"copy of {path}. Mount {path} from storage every host shares and run "
            f"Set-MigrationEndpoint -Identity {name} -SharedStorage, or run the runners of "
            "one host only.")
