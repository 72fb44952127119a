"""Notification mail: status e-mails about a batch to its ``-NotificationEmails`` over SMTP.

- :mod:`engine.notify.settings` — the SMTP settings kept by Set-MigrationConfig (config keys).
- :mod:`engine.notify.compose` — pure: the e-mail for one batch, with the per-user CSV.
- :mod:`engine.notify.smtp` — sending over SMTP (plain, SMTPS, STARTTLS), errors as engine errors.
- :mod:`engine.notify.schedule` — which mail is due, and :func:`run_due_notifications`, the one
  call the runner makes after each pass.

docs/notifications.md describes what is sent when.
"""

from engine.notify.schedule import run_due_notifications
from engine.notify.settings import SmtpSettings

__all__ = ["SmtpSettings", "run_due_notifications"]
