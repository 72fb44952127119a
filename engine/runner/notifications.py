"""Notification rounds for the runner, off its main loop.

:func:`engine.notify.run_due_notifications` may block for one SMTP timeout (20 s) while the
server is down, longer than a third of the lease time-to-live. The runner's loop must keep
renewing leases meanwhile, so a round runs in a thread of its own (with its own
:class:`~engine.store.Store`: one per thread), and at most one round runs at a time: a round
asked for while one is under way is skipped, not queued; the next housekeeping step asks again.

The mail machinery (engine/notify: composing, SMTP, the email package) loads with the first
round that finds a batch with ``-NotificationEmails``, not when the runner starts: a runner
that only runs an incremental pass for a batch nobody is notified of never needs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from engine.errors import ImshError
from engine.paths import StatePaths
from engine.store import Store

if TYPE_CHECKING:
    from engine.notify.schedule import Sender

log = logging.getLogger(__name__)

# One SMTP timeout (engine/notify/settings.py) and some: how long a clean stop waits for a round.
SHUTDOWN_WAIT_SECONDS = 25.0


class Notifier:
    """Starts notification rounds in the background, one at a time."""

    def __init__(
        self,
        paths: StatePaths,
        clock: Callable[[], datetime],
        sender: Sender | None = None,
    ) -> None:
        """``sender`` sends one mail; None: engine.notify.smtp.send_message."""
        self._paths = paths
        self._clock = clock
        self._sender = sender
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def kick(self) -> bool:
        """Start a round unless one is under way; True if one was started."""
        if self.busy:
            return False
        self._thread = threading.Thread(target=self._round, name="imsh-notify", daemon=True)
        self._thread.start()
        return True

    def run_now(self, timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
        """Wait for the round under way, then run one more and wait for it (both bounded):
        what is due now goes out before an idle runner exits."""
        self.wait(timeout)
        if self.kick():
            self.wait(timeout)

    def wait(self, timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
        """Let a round under way finish (a clean stop: its mail gets recorded as sent)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("a notification round is still running; not waiting for it")

    def _round(self) -> None:
        try:
            with Store.open(self._paths) as store:
                if not any(batch.notification_emails for batch in store.batches.list()):
                    return  # nobody to write to: no need to load the mail machinery
                from engine.notify.schedule import run_due_notifications
                from engine.notify.smtp import send_message

                sent = run_due_notifications(store, self._clock(),
                                             sender=self._sender or send_message)
        except ImshError as exc:  # opening the store; run_due_notifications never raises these
            log.warning("notification mail: %s", exc)
            return
        except Exception:  # a bug must not end the thread silently
            log.exception("notification mail failed unexpectedly")
            return
        if sent:
            log.info("sent %d notification mail(s)", sent)
