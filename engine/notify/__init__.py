"""Notification mail: status e-mails about a batch to its ``-NotificationEmails`` over SMTP.

- :mod:`engine.notify.settings` — the SMTP settings kept by Set-MigrationConfig (config keys).
- :mod:`engine.notify.compose` — pure: the e-mail for one batch, with the per-user CSV.
- :mod:`engine.notify.smtp` — sending over SMTP (plain, SMTPS, STARTTLS), errors as engine errors.
- :mod:`engine.notify.schedule` — which mail is due, and :func:`run_due_notifications`, the one
  call the runner makes after each pass.

docs/notifications.md describes what is sent when.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.notify.schedule import run_due_notifications
    from engine.notify.settings import SmtpSettings

# Loaded on first use (PEP 562): Set-MigrationConfig's settings (engine/service/smtp_config.py)
# import ``settings`` alone, and that must not bring in the composing, SMTP and scheduling code
# (the email package, smtplib, ssl) for every cmdlet that reads the state.
_HOMES = {"SmtpSettings": "engine.notify.settings",
          "run_due_notifications": "engine.notify.schedule"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'engine.notify' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name]), name)


__all__ = ["SmtpSettings", "run_due_notifications"]
