"""A real state directory with one batch and one migration user, for the sync executor's
integration tests: source and target are real servers (or a Maildir under /tmp), the store is
real SQLite, and ``run()`` calls ``engine.sync.executor.sync_user`` exactly as the runner does.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.paths import resolve_state_paths
from engine.runner.jobs import CancelToken, SyncJob, SyncKind, SyncOutcome
from engine.secrets import Secret
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.endpoints import EndpointSpec
from engine.store.leases import LeaseFence
from engine.store.users import MigrationUserSpec
from engine.sync.executor import SyncOptions, sync_user
from scripts.compare import ImapSource as CompareImap
from scripts.compare import ImapSpec, MailboxSource, MaildirSource, compare
from tests.support.servers import ImapServer


@dataclass
class SyncEnv:
    """One migration user from ``source`` into an IMAP ``target`` (or a Maildir when None)."""

    source: ImapServer
    source_user: str
    target: ImapServer | None = None
    target_user: str | None = None
    user_name: str | None = None  # the CSV UserName; the source user's own login by default
    password: str | None = None
    batch_extra: dict[str, object] = field(default_factory=dict)  # e.g. -GmailLabelPolicy
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="imsh-sync-",
                                                                       dir="/tmp")))
    user_id: int = 0

    def __post_init__(self) -> None:
        self.paths = resolve_state_paths(self.root / "state")
        with self.open_store() as store:
            source = store.endpoints.add(EndpointSpec(
                "Source", "IMAP", remote_server=self.source.host, port=self.source.port,
                security="None", authentication="Basic"))
            target = store.endpoints.add(self._target_spec())
            batch = store.batches.add(BatchSpec("B1", source.id, target.id,
                                                extra=dict(self.batch_extra)))
            address = self.target_user or f"{self.source_user}@example.org"
            user = store.users.add(batch.id, MigrationUserSpec(
                address, self.user_name or self.source_user,
                Secret(self.password or self.source.password)))
            self.user_id = user.id
            self.address = address

    def _target_spec(self) -> EndpointSpec:
        if self.target is None:
            return EndpointSpec("Target", "Maildir", path=str(self.maildir_root))
        assert self.target.admin_user and self.target.admin_password
        return EndpointSpec("Target", "IMAP", remote_server=self.target.host,
                            port=self.target.port, security="None", authentication="Basic",
                            username=self.target.admin_user,
                            password=Secret(self.target.admin_password))

    @property
    def maildir_root(self) -> Path:
        return self.root / "maildir"

    def open_store(self) -> Store:
        return Store.open(self.paths)

    def run(self, kind: SyncKind = SyncKind.initial, token: CancelToken | None = None,
            fence: LeaseFence | None = None, **options: object) -> SyncOutcome:
        opts = SyncOptions(maildir_fsync=False, **options)  # type: ignore[arg-type]
        job = SyncJob(self.user_id, self.address, 1, kind, fence=fence)
        return sync_user(self.open_store, job, token or CancelToken(), options=opts)

    def source_mailbox(self) -> MailboxSource:
        return CompareImap(ImapSpec(self.source.host, self.source.port, self.source_user,
                                    self.source.password))

    def target_mailbox(self) -> MailboxSource:
        if self.target is None:
            return MaildirSource(self.maildir_root / self.address.lower())
        assert self.target_user is not None
        return CompareImap(ImapSpec(self.target.host, self.target.port, self.target_user,
                                    self.target.password))

    def compare(self) -> str | None:
        """None when source and target are identical, else the comparer's report."""
        a, b = self.source_mailbox(), self.target_mailbox()
        try:
            report = compare(a, b)
        finally:
            a.close()
            b.close()
        return None if report.identical else report.format()

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
