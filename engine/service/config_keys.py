"""The names under which ``store.config`` keeps the organisation-wide migration settings.

engine/service/config.py owns the settings (their defaults, Get-/Set-MigrationConfig). The
names live here so the runner can read a setting (engine/runner/passes.py: the organisation's
``MaxConcurrentMigrations``) without importing what config.py needs besides: the SMTP
settings and with them the notification mail code.
"""

from __future__ import annotations

MAX_NUMBER_OF_BATCHES = "MaxNumberOfBatches"
MAX_CONCURRENT_MIGRATIONS = "MaxConcurrentMigrations"
FEATURES = "Features"
AUTOMATIC_PROOFS = "AutomaticProofs"  # imsh: prove each user after its initial sync and
# before completion (engine/service/proofs.py, prove_after_pass); on unless set to false
