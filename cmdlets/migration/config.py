"""Get-/Set-MigrationConfig: organisation-wide migration settings.

imsh adds ``-DefaultTargetEndpoint``, the SMTP settings of notification mail
(``-SmtpServer -SmtpPort -SmtpSecurity -SmtpCredentials -SmtpFrom``) and
``-IncrementalSyncInterval`` (Exchange syncs every 24 hours and has no such setting). A
parameter that isn't given leaves its setting as it is; ``-SmtpServer ''``,
``-SmtpCredentials $null`` and ``-IncrementalSyncInterval $null`` remove theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter
from cmdlets.base import ParamType as T
from cmdlets.migration.common import (
    ON_PREMISES,
    checked,
    credentials,
    optional,
    timespan,
    unlimited,
    unsupported,
)
from cmdlets.migration.records import config_record
from engine.model import IMAPSecurityMechanism
from engine.secrets import Secret
from engine.service.common import UNSET, Unset
from engine.service.config import FEATURE_NAMES, ConfigChanges
from engine.service.smtp_config import SmtpChanges, SmtpLogin, SmtpOAuth

_SMTP_SECURITY = tuple(m.value for m in IMAPSecurityMechanism)  # -SmtpSecurity: -Security's words


class GetMigrationConfig(Cmdlet):
    name = "Get-MigrationConfig"
    synopsis = "Shows the migration settings: batch limit, concurrency, default target."
    description = (
        "MaxNumberOfBatches (default 100), MaxConcurrentMigrations over all endpoints (default "
        "Unlimited), Features, CanSubmitNewBatch, imsh's DefaultTargetEndpoint, the target "
        "of batches created without -TargetEndpoint, and imsh's IncrementalSyncInterval, how "
        "often batches without their own interval are kept in sync. The SMTP settings of "
        "notification mail are shown as well; SmtpCredentials shows only the user name, never "
        "the password.")
    examples = (
        Example("Get-MigrationConfig", "Shows the settings."),
        Example("Get-MigrationConfig | Format-List Smtp*",
                "Shows how notification mail is sent."),
    )
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
        "-DefaultTargetEndpoint. imsh's -Smtp* parameters set how notification mail "
        "(New-MigrationBatch -NotificationEmails) is sent: the server, its port (default 25 for "
        "None, 465 for Ssl, 587 for Tls), the security (None, Ssl = SMTPS, Tls = STARTTLS; "
        "certificates are always verified), the login and the From address. The password is "
        "stored sealed. Mail that failed to go out is retried at once after a change. "
        "-SmtpServer '' stops notification mail; -SmtpCredentials $null removes the login. "
        "imsh's -IncrementalSyncInterval sets how long after a successful pass the next "
        "incremental sync of a batch is due (1 second to 365 days; default 1.00:00:00, as "
        "Exchange) for every batch without its own -IncrementalSyncInterval; users waiting "
        "for their next pass are rescheduled at once. $null goes back to 24 hours.")
    examples = (
        Example("Set-MigrationConfig -MaxNumberOfBatches 50", "At most 50 batches."),
        Example("Set-MigrationConfig -MaxConcurrentMigrations 100",
                "At most 100 users synchronized at once."),
        Example("Set-MigrationConfig -SmtpServer smtp.contoso.com -SmtpPort 587 -SmtpSecurity "
                "Tls -SmtpCredentials $cred -SmtpFrom migration@contoso.com",
                "Sends notification mail through smtp.contoso.com with STARTTLS and a login."),
        Example("Set-MigrationConfig -SmtpServer smtp.office365.com -SmtpPort 587 -SmtpSecurity "
                "Tls -SmtpFrom migration@contoso.com -Authentication OAuth -TenantId $tenant "
                "-ClientId $app -ClientSecret $secret",
                "Exchange Online: the app (SMTP.SendAsApp) sends as migration@contoso.com "
                "with XOAUTH2, no password."),
        Example("Set-MigrationConfig -IncrementalSyncInterval '06:00:00'",
                "Keeps batches without their own interval in sync every 6 hours."),
    )
    parameters = (
        Parameter("MaxNumberOfBatches", T.INT, help="The most batches that may exist."),
        Parameter("MaxConcurrentMigrations", T.UNLIMITED_INT,
                  help="The most users synchronized at once over all endpoints."),
        Parameter("Features", T.STRING, choices=FEATURE_NAMES, help="Migration features."),
        Parameter("DefaultTargetEndpoint", T.STRING,
                  help="imsh: the target of batches created without -TargetEndpoint."),
        Parameter("SmtpServer", T.STRING, allow_null=True, allow_empty=True,
                  help="imsh: the SMTP server notification mail goes through ('' = no mail)."),
        Parameter("SmtpPort", T.INT, help="imsh: the SMTP port (1-65535)."),
        Parameter("SmtpSecurity", T.STRING, choices=_SMTP_SECURITY,
                  help="imsh: None, Ssl (SMTPS) or Tls (STARTTLS)."),
        Parameter("SmtpCredentials", T.OBJECT, allow_null=True,  # $null removes the login
                  help="imsh: the SMTP login, a PSCredential ($null = none); stored sealed."),
        Parameter("SmtpFrom", T.STRING, help="imsh: the From address of notification mail."),
        Parameter("Authentication", T.STRING, choices=("Basic", "OAuth"),
                  help="imsh: how notification mail signs in: Basic (-SmtpCredentials) or "
                       "OAuth (XOAUTH2 as -SmtpFrom with -TenantId, -ClientId, -ClientSecret)."),
        Parameter("TenantId", T.STRING, help="imsh: SMTP with OAuth: the tenant id."),
        Parameter("ClientId", T.STRING, help="imsh: SMTP with OAuth: the application id."),
        Parameter("ClientSecret", T.SECURESTRING,
                  help="imsh: SMTP with OAuth: the application's client secret (sealed)."),
        Parameter("Authority", T.STRING,
                  help="imsh: SMTP with OAuth: the identity platform's host (default "
                       "https://login.microsoftonline.com)."),
        Parameter("IncrementalSyncInterval", T.OBJECT, allow_null=True,  # $null: 24 h again
                  help="imsh: how long after a successful pass the next incremental sync is "
                       "due, for batches without their own (default 1.00:00:00; $null = 24 h)."),
        Parameter("AutomaticProofs", T.BOOL,
                  help="imsh: prove each user (Test-MigrationUser) after its initial sync and "
                       "before Complete-MigrationBatch finishes (default $true)."),
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
            smtp=_smtp(args),
            incremental_sync_interval=(timespan(args, "IncrementalSyncInterval")
                                       if "IncrementalSyncInterval" in args else UNSET),
            automatic_proofs=optional(args, "AutomaticProofs"),
        )
        if checked(ctx, "MigrationConfig", "Change migration configuration",
                   lambda e: e.set_config(changes)):
            ctx.engine.set_config(changes)
        return []


def _smtp(args: BoundArguments) -> SmtpChanges:
    login: SmtpLogin | Unset | None = UNSET
    if "SmtpCredentials" in args:
        found = credentials(args, "SmtpCredentials")
        login = SmtpLogin(found.user_name, found.password) if found is not None else None
    return SmtpChanges(server=_given(args, "SmtpServer"), port=_given(args, "SmtpPort"),
                       security=_given(args, "SmtpSecurity"), credentials=login,
                       sender=_given(args, "SmtpFrom"), oauth=_oauth(args))


def _oauth(args: BoundArguments) -> SmtpOAuth | Unset | None:
    method = optional(args, "Authentication")
    given = [name for name in ("TenantId", "ClientId", "ClientSecret", "Authority")
             if name in args]
    if method is None:
        if given:
            raise CmdletError("-TenantId, -ClientId, -ClientSecret and -Authority apply only "
                              "with -Authentication OAuth.", "InvalidArgument",
                              "SmtpOAuthParameters")
        return UNSET
    if str(method).casefold() == "basic":
        return None
    missing = [f"-{n}" for n in ("TenantId", "ClientId", "ClientSecret")
               if not optional(args, n)]
    if missing:
        raise CmdletError("-Authentication OAuth needs " + ", ".join(missing) + ".",
                          "InvalidArgument", "SmtpOAuthIncomplete")
    secret = args["ClientSecret"]
    if not isinstance(secret, Secret):
        secret = Secret(str(secret))
    return SmtpOAuth(str(args["TenantId"]), str(args["ClientId"]), secret,
                     optional(args, "Authority"))


def _given(args: BoundArguments, name: str) -> Any:
    """The bound value (None included), or UNSET when the parameter wasn't given."""
    return args.get(name, UNSET)


CONFIG_CMDLETS: tuple[type[Cmdlet], ...] = (GetMigrationConfig, SetMigrationConfig)
