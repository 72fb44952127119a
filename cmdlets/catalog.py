"""Every migration cmdlet imsh offers, for the session's registry (shell/wiring.py)."""

from __future__ import annotations

from cmdlets.base import Cmdlet
from cmdlets.migration.batches import BATCH_CMDLETS
from cmdlets.migration.config import CONFIG_CMDLETS
from cmdlets.migration.endpoints import ENDPOINT_CMDLETS
from cmdlets.migration.proofs import PROOF_CMDLETS
from cmdlets.migration.users import USER_CMDLETS

MIGRATION_CMDLETS: tuple[type[Cmdlet], ...] = (
    *ENDPOINT_CMDLETS, *BATCH_CMDLETS, *USER_CMDLETS, *CONFIG_CMDLETS, *PROOF_CMDLETS,
)
