"""The engine façade: the one object the migration cmdlets talk to.

``Engine.open(paths, runner_launcher=...)`` opens the state store; every cmdlet operation is
one method here, delegating to the noun's service module. Transactions and network
connections are opened below this line, never in cmdlets. The façade is used from one thread
(the store's rule); close it with :meth:`close` or a ``with`` block.

``runner_launcher`` starts the background runner (``imsh service``) when work became due: it is
called after Start-MigrationBatch, New-MigrationBatch -AutoStart, Start-MigrationUser,
Complete-MigrationBatch and -SyncNow have committed. Without one, users stay Queued.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from engine.model import BatchStatus, IMAPSecurityMechanism
from engine.model import MigrationUserStatus as UserStatus
from engine.model import MigrationUserStatusSummary as UserStatusSummary
from engine.paths import StatePaths
from engine.runner.launcher import RUNNER_PREFIX
from engine.runner.liveness import live_leases
from engine.service import config, passes, pending, statistics
from engine.service.batches import SETTLED, BatchChanges, BatchInfo, BatchRequest, BatchService
from engine.service.common import Launcher, RunnerLauncher
from engine.service.config import ConfigChanges, MigrationConfig
from engine.service.endpoints import (
    EndpointChanges,
    EndpointInfo,
    EndpointRequest,
    EndpointService,
    default_security,
)
from engine.service.smtp_config import SmtpChanges
from engine.service.statistics import MigrationTotals, UserStatisticsInfo
from engine.service.users import UserChanges, UserInfo, UserService
from engine.store import Store
from engine.store.passes import PassRow
from engine.store.store import state_exists

if TYPE_CHECKING:
    # The modules that reach servers or verify (availability, proofs, user folders, preview)
    # import the IMAP client and the sync engine; each is imported by the method that uses it,
    # so a cmdlet that only reads or changes the state starts in a fraction of the time.
    from engine.service import proofs
    from engine.service.availability import AvailabilityResult
    from engine.service.preview import UserPreview
    from engine.service.user_folders import UserFolder

IDENTITY_KINDS = ("batch", "endpoint", "user")
SMTP_DEFAULTS_APPLIED = "SmtpDefaultsApplied"  # config key: the file's smtp section was stored


class Engine:
    def __init__(self, store: Store, runner_launcher: RunnerLauncher | None = None,
                 keep_runner: bool = False) -> None:
        """``keep_runner``: the shell keeps on-demand runners alive, so a runner found missing
        while passes are due is started again before the no-runner warning is considered."""
        self.store = store
        launcher = Launcher(runner_launcher)
        self._launcher = launcher
        self._keep_runner = keep_runner
        self._endpoints = EndpointService(store)
        self._batches = BatchService(store, launcher)
        self._users = UserService(store, launcher)

    @staticmethod
    def state_exists(paths: StatePaths) -> bool:
        """Whether ``paths`` hold migration state (looked for without creating any)."""
        return state_exists(paths)

    @classmethod
    def open(cls, paths: StatePaths, *,
             runner_launcher: RunnerLauncher | None = None,
             keep_runner: bool = False) -> Engine:
        return cls(Store.open(paths), runner_launcher, keep_runner)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def check(self, operation: Callable[[Engine], object]) -> None:
        """-WhatIf: run ``operation`` on an engine that starts no runner, in a transaction
        that is rolled back: every check the real operation makes (same errors), nothing
        kept. Not for operations that wait for a runner (use the ``check_remove_*``)."""
        dry = Engine(self.store)
        with self.store.db.rolled_back():
            operation(dry)

    def check_remove_batch(self, identity: str) -> None:
        self._batches.check_remove(identity)

    def check_remove_user(self, identity: str) -> None:
        self._users.check_remove(identity)

    def identities(self, kind: str) -> list[str]:
        """Names for tab completion: 'batch', 'endpoint' or 'user'."""
        if kind == "batch":
            return [row.name for row in self.store.batches.list()]
        if kind == "endpoint":
            return [row.name for row in self.store.endpoints.list()]
        if kind == "user":
            return [row.email_address for row in self.store.users.list()]
        raise ValueError(f"unknown identity kind {kind!r}; expected one of {IDENTITY_KINDS}")

    # --- endpoints ------------------------------------------------------------------------

    def new_endpoint(self, request: EndpointRequest) -> EndpointInfo:
        return self._endpoints.create(request)

    def get_endpoints(self, identity: str | None = None,
                      endpoint_type: str | None = None) -> list[EndpointInfo]:
        return self._endpoints.list(identity, endpoint_type)

    def set_endpoint(self, identity: str, changes: EndpointChanges) -> EndpointInfo:
        return self._endpoints.change(identity, changes)

    def remove_endpoint(self, identity: str) -> None:
        self._endpoints.remove(identity)

    def test_server(self, remote_server: str, port: int,
                    security: IMAPSecurityMechanism | None,
                    accept_untrusted: bool = False) -> AvailabilityResult:
        from engine.service import availability

        return availability.test_settings(remote_server, port,
                                          security or default_security(port), accept_untrusted)

    def test_gmail(self, key: bytes | None, email_address: str | None) -> AvailabilityResult:
        from engine.service import availability

        return availability.test_gmail(key, email_address)

    def test_endpoint(self, identity: str, test_mailbox: str | None = None
                      ) -> AvailabilityResult:
        from engine.service import availability

        return availability.test_endpoint(self._endpoints.get_row(identity), test_mailbox)

    # --- batches --------------------------------------------------------------------------

    def new_batch(self, request: BatchRequest) -> BatchInfo:
        return self._batches.create(request)

    def get_batches(self, identity: str | None = None, status: BatchStatus | None = None,
                    endpoint: str | None = None, include_report: bool = False,
                    result_size: int | None = None) -> list[BatchInfo]:
        return self._batches.list(identity, status, endpoint, include_report, result_size)

    def set_batch(self, identity: str, changes: BatchChanges) -> BatchInfo:
        return self._batches.change(identity, changes)

    def preview_new_batch(self, request: BatchRequest) -> list[UserPreview]:
        return self._batches.preview_new(request)

    def preview_start_batch(self, identity: str) -> list[UserPreview]:
        return self._batches.preview_start(identity)

    def start_batch(self, identity: str) -> BatchInfo:
        return self._batches.start(identity)

    def stop_batch(self, identity: str) -> BatchInfo:
        return self._batches.stop(identity)

    def complete_batch(self, identity: str, sync_and_complete: bool = False) -> BatchInfo:
        return self._batches.complete(identity, sync_and_complete)

    def remove_batch(self, identity: str) -> BatchInfo | None:
        """None when the batch is gone; its info (status Removing) when a runner finishes it."""
        return self._batches.remove(identity)

    def runner_notice(self, batch: BatchInfo) -> str | None:
        """A warning when ``batch`` has passes due but no runner will perform them (with
        ``keep_runner``, after starting one if it can: a console open for days sees its
        runner replaced, not only warned about)."""
        if self._keep_runner:
            self.revive_runner()
        return pending.no_runner_notice(self.store, batch.id, batch.name)

    def revive_runner(self) -> bool:
        """Start a runner when passes are due and none serves the state (a killed one, say);
        True when the launcher was asked (engine/service/pending.py)."""
        return pending.revive_runner(self.store, self._launcher)

    def wait_batch(self, identity: str, until: frozenset[BatchStatus] | None,
                   timeout: timedelta, on_poll: Callable[[BatchInfo], None],
                   interval: float = 0.25) -> BatchInfo:
        return self._batches.wait(identity, until or SETTLED, timeout, on_poll, interval)

    # --- users and statistics -------------------------------------------------------------

    def get_users(self, identity: str | None = None, batch: str | None = None,
                  status: UserStatus | None = None,
                  status_summary: UserStatusSummary | None = None,
                  result_size: int | None = None,
                  mailbox_guid: str | None = None) -> list[UserInfo]:
        return self._users.list(identity, batch, status, status_summary, result_size,
                                mailbox_guid)

    def set_user(self, identity: str, changes: UserChanges) -> UserInfo:
        return self._users.change(identity, changes)

    def start_user(self, identity: str) -> UserInfo:
        return self._users.start(identity)

    def stop_user(self, identity: str) -> UserInfo:
        return self._users.stop(identity)

    def remove_user(self, identity: str) -> None:
        self._users.remove(identity)

    def get_user_statistics(self, identity: str, *, include_report: bool = False,
                            include_skipped_items: bool = False,
                            skipped_limit: int | None = None,
                            diagnostic: bool = False) -> UserStatisticsInfo:
        return statistics.user_statistics(
            self.store, identity, include_report=include_report,
            include_skipped_items=include_skipped_items, skipped_limit=skipped_limit,
            diagnostic=diagnostic)

    def get_statistics(self) -> MigrationTotals:
        return statistics.migration_totals(self.store)

    # --- proofs (Test-MigrationUser, Test-MigrationBatch) ----------------------------------

    def prove_user(self, identity: str) -> proofs.UserProof:
        from engine.service import proofs

        return proofs.prove_user(self.store, identity)

    def prove_batch(self, identity: str) -> list[proofs.UserProof]:
        from engine.service import proofs

        return proofs.prove_batch(self.store, identity)

    # --- read-only views for the dashboard (shell/dashboard) ------------------------------

    def get_user_folders(self, identity: str) -> list[UserFolder]:
        """The source folders imsh knows for one user, as paths an admin reads."""
        from engine.service import user_folders

        return user_folders.user_folders(self.store, identity)

    def get_batch_passes(self, identity: str, since: datetime | None = None) -> list[PassRow]:
        """The batch's recorded sync passes (running ones with their copies so far), oldest
        first; only those still running or finished at or after ``since`` when given."""
        return passes.batch_passes(self.store, identity, since)

    def get_finished_passes(self) -> list[PassRow]:
        """Every finished sync pass of every batch, oldest first (``/metrics``)."""
        return passes.all_passes(self.store)

    def count_active_runners(self) -> int:
        """How many live runners hold a lease now (``imsh service`` processes)."""
        return len(live_leases(self.store, prefix=RUNNER_PREFIX))

    # --- configuration --------------------------------------------------------------------

    def get_config(self) -> MigrationConfig:
        return config.load_config(self.store)

    def set_config(self, changes: ConfigChanges) -> MigrationConfig:
        return config.change_config(self.store, changes)

    def apply_smtp_defaults(self, smtp: SmtpChanges) -> bool:
        """Store ``smtp`` (the configuration file's defaults, shell/config.py) as
        Set-MigrationConfig would — once: only while this state has no SMTP server and never
        had defaults applied, so a server the administrator removed is not brought back.
        True when they were stored; a bad value raises what Set-MigrationConfig would."""
        if (not smtp.given or self.store.config.get(SMTP_DEFAULTS_APPLIED)
                or self.get_config().smtp.server is not None):
            return False
        config.change_config(self.store, ConfigChanges(smtp=smtp))
        self.store.config.set(SMTP_DEFAULTS_APPLIED, True)
        return True
