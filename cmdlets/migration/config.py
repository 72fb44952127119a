"""Get-/Set-MigrationConfig: organisation-wide migration settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, Context, Example, Parameter
from cmdlets.base import ParamType as T
from cmdlets.migration.common import ON_PREMISES, optional, unlimited, unsupported
from cmdlets.migration.records import config_record
from engine.service.common import UNSET
from engine.service.config import FEATURE_NAMES, ConfigChanges


class GetMigrationConfig(Cmdlet):
    name = "Get-MigrationConfig"
    synopsis = "Shows the migration settings: batch limit, concurrency, default target."
    description = (
        "MaxNumberOfBatches (default 100), MaxConcurrentMigrations over all endpoints (default "
        "Unlimited), Features, CanSubmitNewBatch and imsh's DefaultTargetEndpoint, the target "
        "of batches created without -TargetEndpoint.")
    examples = (Example("Get-MigrationConfig", "Shows the settings."),)
    parameters = (*unsupported("AllPartitions", "IncludeSimplifiedGmailMigrationData",
                               switch=True), *ON_PREMISES)
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationConfig"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return [config_record(ctx.engine.get_config())]


class SetMigrationConfig(Cmdlet):
    name = "Set-MigrationConfig"
    synopsis = "Changes the migration settings."
    description = (
        "Sets the most batches that may exist, the most users synchronized at once over all "
        "endpoints (a number or Unlimited), the Features value, and imsh's "
        "-DefaultTargetEndpoint.")
    examples = (
        Example("Set-MigrationConfig -MaxNumberOfBatches 50", "At most 50 batches."),
        Example("Set-MigrationConfig -MaxConcurrentMigrations 100",
                "At most 100 users synchronized at once."),
    )
    parameters = (
        Parameter("MaxNumberOfBatches", T.INT, help="The most batches that may exist."),
        Parameter("MaxConcurrentMigrations", T.UNLIMITED_INT,
                  help="The most users synchronized at once over all endpoints."),
        Parameter("Features", T.STRING, choices=FEATURE_NAMES, help="Migration features."),
        Parameter("DefaultTargetEndpoint", T.STRING,
                  help="imsh: the target of batches created without -TargetEndpoint."),
        *ON_PREMISES,
    )
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        changes = ConfigChanges(
            max_number_of_batches=optional(args, "MaxNumberOfBatches"),
            max_concurrent_migrations=(unlimited(args, "MaxConcurrentMigrations")
                                       if "MaxConcurrentMigrations" in args else UNSET),
            features=optional(args, "Features"),
            default_target_endpoint=optional(args, "DefaultTargetEndpoint"),
        )
        if ctx.should_process("MigrationConfig", "Change migration configuration"):
            ctx.engine.set_config(changes)
        return []


CONFIG_CMDLETS: tuple[type[Cmdlet], ...] = (GetMigrationConfig, SetMigrationConfig)
