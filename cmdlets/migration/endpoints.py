"""New-/Get-/Set-/Remove-MigrationEndpoint and Test-MigrationServerAvailability.

Endpoint kinds: ``-IMAP`` (Exchange's; a source, or a target when given ``-Credentials`` or
``-Authentication OAuth -TenantId -ClientId -ClientSecret [-Authority]``: Exchange Online over
IMAP with SASL XOAUTH2, docs/exchange-online.md), and imsh's ``-Maildir -Path`` and
``-EWS -Url (-Credentials | -Authentication OAuth -TenantId -ClientId -ClientSecret)
[-Impersonation]``. The switches of the other Exchange migration kinds
parse and are refused as not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter
from cmdlets.base import ParamType as T
from cmdlets.migration.common import (
    ON_PREMISES,
    checked,
    credentials,
    identity,
    optional,
    unlimited,
    unsupported,
)
from cmdlets.migration.records import availability_record, endpoint_record
from engine.model import (
    AuthenticationMethod,
    EndpointType,
    IMAPSecurityMechanism,
    MigrationType,
    parse_enum,
)
from engine.oauth import certificate_credential
from engine.secrets import Secret
from engine.service.common import UNSET
from engine.service.endpoints import EndpointChanges, EndpointRequest

_SECURITY = tuple(m.value for m in IMAPSecurityMechanism)
_AUTHENTICATION = tuple(m.value for m in AuthenticationMethod)
_OTHER_KINDS = unsupported(
    "ExchangeRemoteMove", "ExchangeOutlookAnywhere", "PublicFolder", "Compliance",
    "PSTImport", "GoogleMarketplaceApp", "MrsProxyPublicFolder",
    "MrsProxyPublicFolderToUnifiedGroup", "LegacyPublicFolderToUnifiedGroup", "Autodiscover",
    switch=True)
_OTHER_SETTINGS = unsupported(
    "ApplicationId", "AppSecretKeyVaultUrl", "ExchangeServer",
    "MailboxPermission", "NspiServer", "PublicFolderDatabaseServerLegacyDN", "RemoteTenant",
    "RpcProxyServer", "SourceMailboxLegacyDN",
    "TargetDatabase", "RedirectUrl")
_SHARED_STORAGE = Parameter(
    "SharedStorage", T.SWITCH,
    help="imsh: Maildir: the path is storage every runner host mounts at the same place (NFS, "
         "a cluster file system); without it, the first host to write it keeps it "
         "(docs/scale-out.md). -SharedStorage:$false unmarks it.")
_LIMITS = (
    Parameter("MaxConcurrentMigrations", T.UNLIMITED_INT,
              help="Mailboxes migrated at once during initial sync (default 20; at most 100)."),
    Parameter("MaxConcurrentIncrementalSyncs", T.UNLIMITED_INT,
              help="Incremental syncs at once (default 10); at most MaxConcurrentMigrations."),
    Parameter("MaxMessageSize", T.OBJECT, allow_null=True,
              help="imsh: IMAP target: the largest message copied (default 35MB, Exchange "
                   "Online's; up to 150MB when the tenant raised the mailboxes' limit). "
                   "Larger messages are skipped items. $null: back to the default."),
)
_SIZE = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(B|KB|MB|GB)?\b", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def _max_message_size(args: BoundArguments) -> int | None:
    """-MaxMessageSize: a number of bytes (150MB is one in PowerShell), or Exchange's text
    ("150 MB", "35 MB (36,700,160 bytes)")."""
    value = args.get("MaxMessageSize")
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        match = _SIZE.match(value)
        rest = value[match.end():].strip() if match is not None else "?"
        if match is not None and (not rest or rest.startswith("(")):
            number = float(match.group(1).replace(",", ""))
            return int(number * _UNITS[(match.group(2) or "B").upper()])
    raise CmdletError(f"Cannot convert '{value}' to a size for -MaxMessageSize. Give bytes or "
                      "a size such as 150MB.", "InvalidArgument", "MaxMessageSize")


def _security(args: BoundArguments) -> IMAPSecurityMechanism | None:
    value = optional(args, "Security")
    return parse_enum(IMAPSecurityMechanism, value) if value else None


def _authentication(args: BoundArguments) -> AuthenticationMethod | None:
    value = optional(args, "Authentication")
    return parse_enum(AuthenticationMethod, value) if value else None


_OAUTH = (
    Parameter("TenantId", T.STRING, help="imsh: OAuth (IMAP, EWS): the tenant (directory) id."),
    Parameter("ClientId", T.STRING,
              help="imsh: OAuth (IMAP, EWS): the application (client) id."),
    Parameter("ClientSecret", T.SECURESTRING,
              help="imsh: OAuth (IMAP, EWS): the application's client secret (stored sealed)."),
    Parameter("CertificateFile", T.STRING,
              help="imsh: IMAP with OAuth: a PEM file with the app's certificate and private "
                   "key, instead of -ClientSecret (read now, stored sealed)."),
    Parameter("Authority", T.STRING,
              help="imsh: IMAP with OAuth: the identity platform's host (default "
                   "https://login.microsoftonline.com; a sovereign cloud's login host)."),
    Parameter("TestMailbox", T.STRING,
              help="A mailbox to sign in to when verifying, the way the sync will (proxy "
                   "login or XOAUTH2); without it, IMAP admin credentials are not tried."),
)


def _client_secret(args: BoundArguments) -> Secret | None:
    value = optional(args, "ClientSecret")
    return value if isinstance(value, Secret) else None


def _certificate(ctx: Context, args: BoundArguments) -> tuple[Secret, str] | None:
    """-CertificateFile, read now: the endpoint keeps the PEM (sealed), not the path."""
    if not optional(args, "CertificateFile"):
        return None
    path = ctx.resolve_path(args["CertificateFile"])
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise CmdletError(f"The certificate file '{path}' can't be read: {exc.strerror}.",
                          "ReadError", "OAuthCertificateUnreadable") from None
    return certificate_credential(pem, str(path))


def _limit(args: BoundArguments, name: str, default: int) -> int | None:
    return unlimited(args, name) if name in args else default


class NewMigrationEndpoint(Cmdlet):
    name = "New-MigrationEndpoint"
    synopsis = "Creates a migration endpoint: the connection settings of a source or target."
    description = (
        "Stores the settings imsh uses to reach a mail server or store. -IMAP describes an IMAP "
        "server (the source of a migration batch, or an IMAP target when -Credentials are "
        "given). -Maildir -Path and -EWS -Url are imsh's targets. Unless -SkipVerification is "
        "given, imsh first connects (with TLS as configured; certificates are verified unless "
        "-AcceptUntrustedCertificates): an IMAP server's capabilities are read and, with "
        "-Credentials, imsh logs in; an EWS endpoint is signed in to at the -Url as given (no "
        "autodiscover) with -Credentials (-Authentication Basic or NTLM, or asked of the "
        "server) or, with -Authentication OAuth, as the application -ClientId with "
        "-ClientSecret in -TenantId. A failed verification stores nothing. -Port defaults to "
        "993; -Security defaults to Ssl on port 993 and None elsewhere. Other Exchange "
        "endpoint kinds are not supported by imsh. An IMAP endpoint with -Authentication OAuth "
        "-TenantId -ClientId -ClientSecret signs in to each mailbox with SASL XOAUTH2 and an "
        "app-only token from the Microsoft identity platform (Exchange Online: "
        "outlook.office365.com); -TestMailbox names a mailbox that verification signs in to "
        "the way the sync will.")
    examples = (
        Example("New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer imap.contoso.com "
                "-Port 993 -Security Ssl",
                "Creates an IMAP endpoint that connects with SSL on port 993."),
        Example("New-MigrationEndpoint -IMAP -Name IMAP_TLS_Endpoint -RemoteServer "
                "imap.contoso.com -Port 143 -Security Tls -MaxConcurrentMigrations 50 "
                "-MaxConcurrentIncrementalSyncs 10",
                "Uses STARTTLS on port 143 and allows 50 migrations and 10 incremental syncs "
                "at once."),
        Example("New-MigrationEndpoint -Maildir -Name Archive -Path /srv/mail/archive",
                "A local Maildir target: one Maildir++ tree per EmailAddress under the path."),
        Example("New-MigrationEndpoint -EWS -Name Exchange -Url "
                "https://mail.contoso.com/EWS/Exchange.asmx -Credentials $cred -Impersonation",
                "An Exchange target; the service account impersonates each target mailbox."),
        Example("New-MigrationEndpoint -EWS -Name Online -Url "
                "https://outlook.office365.com/EWS/Exchange.asmx -Authentication OAuth "
                "-TenantId $tenant -ClientId $app -ClientSecret $secret -Impersonation",
                "Exchange Online with an app registration (full_access_as_app)."),
        Example("New-MigrationEndpoint -IMAP -Name EXO -RemoteServer outlook.office365.com "
                "-Port 993 -Security Ssl -Authentication OAuth -TenantId $tenant -ClientId $app "
                "-ClientSecret $secret -TestMailbox pilot@contoso.com",
                "Exchange Online over IMAP with OAuth (IMAP.AccessAsApp): each user's "
                "EmailAddress is signed in to with XOAUTH2; verified by signing in to the "
                "pilot mailbox."),
    )
    parameters = (
        Parameter("Name", T.STRING, mandatory=True, help="The endpoint's unique name."),
        Parameter("IMAP", T.SWITCH, help="An IMAP endpoint."),
        Parameter("Maildir", T.SWITCH, help="imsh: a local Maildir target."),
        Parameter("EWS", T.SWITCH, help="imsh: an Exchange Web Services target."),
        Parameter("RemoteServer", T.STRING, help="The IMAP server's host name (FQDN)."),
        Parameter("Port", T.INT, help="The TCP port (default 993)."),
        Parameter("Security", T.STRING, choices=_SECURITY,
                  help="None, Ssl (implicit TLS) or Tls (STARTTLS)."),
        Parameter("Authentication", T.STRING, choices=_AUTHENTICATION,
                  help="The login method: Basic or OAuth (IMAP); Basic, NTLM or OAuth (EWS)."),
        Parameter("AcceptUntrustedCertificates", T.SWITCH,
                  help="Do not verify the server's TLS certificate (not for production)."),
        Parameter("Credentials", T.CREDENTIAL,
                  help="Administrator credentials (IMAP target proxy login, EWS)."),
        Parameter("Path", T.STRING, help="imsh: the Maildir root directory."),
        _SHARED_STORAGE,
        Parameter("Url", T.STRING, help="imsh: the EWS URL."),
        Parameter("Impersonation", T.SWITCH, help="imsh: EWS with impersonation."),
        Parameter("Gmail", T.SWITCH,
                  help="A Google Workspace source: each user signs in to Gmail's IMAP with a "
                       "token of the service account (docs/gmail.md)."),
        Parameter("ServiceAccountKeyFileData", T.BYTES,
                  help="Gmail: the service account's JSON key "
                       "([System.IO.File]::ReadAllBytes(\"key.json\")); stored sealed."),
        Parameter("EmailAddress", T.STRING,
                  help="Gmail: a Workspace administrator's address; verification signs in as "
                       "it."),
        *_OAUTH,
        Parameter("SkipVerification", T.SWITCH, help="Store the endpoint without reaching it."),
        *_LIMITS, *_OTHER_KINDS, *_OTHER_SETTINGS, *ON_PREMISES,
    )
    supports_should_process = True
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationEndpoint"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        request = EndpointRequest(
            name=args["Name"], kind=_kind(args),
            remote_server=optional(args, "RemoteServer"), port=optional(args, "Port"),
            security=_security(args), authentication=_authentication(args),
            path=str(ctx.resolve_path(args["Path"])) if "Path" in args else None,
            url=optional(args, "Url"), impersonation=args.switch("Impersonation"),
            credentials=credentials(args), tenant_id=optional(args, "TenantId"),
            client_id=optional(args, "ClientId"), client_secret=_client_secret(args),
            authority=optional(args, "Authority"), test_mailbox=optional(args, "TestMailbox"),
            certificate=_certificate(ctx, args),
            accept_untrusted_certificates=args.switch("AcceptUntrustedCertificates"),
            max_concurrent_migrations=_limit(args, "MaxConcurrentMigrations", 20),
            max_concurrent_incremental_syncs=_limit(args, "MaxConcurrentIncrementalSyncs", 10),
            skip_verification=args.switch("SkipVerification"),
            max_message_size=_max_message_size(args),
            service_account_key=(bytes(args["ServiceAccountKeyFileData"])
                                 if "ServiceAccountKeyFileData" in args else None),
            email_address=optional(args, "EmailAddress"),
            shared_storage=args.switch("SharedStorage"),
        )
        if not checked(ctx, request.name, "Create migration endpoint",
                       lambda e: e.new_endpoint(request)):
            return []
        info = ctx.engine.new_endpoint(request)
        if info.warning:
            ctx.write_warning(info.warning)
        return [endpoint_record(info)]


def _kind(args: BoundArguments) -> EndpointType:
    kinds = [kind for kind in EndpointType if args.switch(kind.value)]
    if len(kinds) != 1:
        raise CmdletError("Specify exactly one endpoint type: -IMAP, -Gmail, -Maildir or -EWS.",
                          "InvalidArgument", "EndpointTypeRequired")
    return kinds[0]


class GetMigrationEndpoint(Cmdlet):
    name = "Get-MigrationEndpoint"
    synopsis = "Lists migration endpoints and their settings."
    description = (
        "Without -Identity, lists every endpoint (including imsh's default Maildir target "
        "LocalMaildir). -Type filters by kind: IMAP, or imsh's Maildir and EWS. Passwords are "
        "never shown; Password reads ******** when one is stored.")
    examples = (
        Example("Get-MigrationEndpoint -Identity IMAPEndpoint | Format-List EndpointType,"
                "RemoteServer,Port,Security,Max*", "Shows an endpoint's connection settings."),
        Example("Get-MigrationEndpoint -Type IMAP", "Lists the IMAP endpoints."),
    )
    parameters = (
        identity("migration endpoint"),
        Parameter("Type", T.STRING,
                  choices=(*(m.value for m in MigrationType), "Maildir", "EWS"),
                  help="Only endpoints of this kind."),
        *unsupported("Diagnostic", switch=True),
        *unsupported("DiagnosticArgument", "DiagnosticInfo", "ConnectionSettings"),
        *ON_PREMISES,
    )
    output_type = "Microsoft.Exchange.Data.Storage.Management.MigrationEndpoint"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        found = ctx.engine.get_endpoints(optional(args, "Identity"), optional(args, "Type"))
        return [endpoint_record(info) for info in found]


class SetMigrationEndpoint(Cmdlet):
    name = "Set-MigrationEndpoint"
    synopsis = "Changes a migration endpoint's settings."
    description = (
        "Changes connection settings or limits. Connection settings can be changed only while "
        "no batch using the endpoint is running; they are verified again unless "
        "-SkipVerification is given. Changes take effect at the batch's next pass.")
    examples = (
        Example("Set-MigrationEndpoint -Identity IMAPEndpoint -MaxConcurrentMigrations 10",
                "Allows at most 10 initial syncs at once through this endpoint."),
        Example("Set-MigrationEndpoint -Identity Exchange -Credentials $cred",
                "New EWS credentials, verified before they are stored."),
        Example("Set-MigrationEndpoint -Identity gmailEndpoint -ServiceAccountKeyFileData "
                "([System.IO.File]::ReadAllBytes(\"key.json\"))",
                "A new key for a Gmail endpoint's service account, verified before it is "
                "stored."),
    )
    parameters = (
        identity("migration endpoint", mandatory=True),
        Parameter("RemoteServer", T.STRING, help="The IMAP server's host name."),
        Parameter("Port", T.INT, help="The TCP port."),
        Parameter("Security", T.STRING, choices=_SECURITY, help="None, Ssl or Tls."),
        Parameter("Authentication", T.STRING, choices=_AUTHENTICATION,
                  help="The login method (Basic; EWS also NTLM and OAuth)."),
        Parameter("Url", T.STRING, help="imsh: the EWS URL."),
        Parameter("Impersonation", T.BOOL,
                  help="imsh: $true for EWS impersonation, $false for delegate access."),
        *_OAUTH,
        Parameter("AcceptUntrustedCertificates", T.BOOL,
                  help="$true to accept untrusted certificates, $false to verify them."),
        Parameter("Credentials", T.CREDENTIAL, help="New administrator credentials."),
        Parameter("ServiceAccountKeyFileData", T.BYTES,
                  help="Gmail: a new service account JSON key "
                       "([System.IO.File]::ReadAllBytes(\"key.json\")); stored sealed."),
        Parameter("EmailAddress", T.STRING,
                  help="Gmail: the Workspace administrator verification signs in as."),
        _SHARED_STORAGE,
        Parameter("SkipVerification", T.SWITCH, help="Do not reach the server first."),
        *_LIMITS, *_OTHER_SETTINGS, *ON_PREMISES,
    )
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        changes = EndpointChanges(
            remote_server=optional(args, "RemoteServer"), port=optional(args, "Port"),
            security=_security(args), authentication=_authentication(args),
            credentials=credentials(args), url=optional(args, "Url"),
            impersonation=optional(args, "Impersonation"), tenant_id=optional(args, "TenantId"),
            client_id=optional(args, "ClientId"), client_secret=_client_secret(args),
            authority=optional(args, "Authority"), test_mailbox=optional(args, "TestMailbox"),
            certificate=_certificate(ctx, args),
            accept_untrusted_certificates=optional(args, "AcceptUntrustedCertificates"),
            max_concurrent_migrations=(_limit(args, "MaxConcurrentMigrations", 0)
                                       if "MaxConcurrentMigrations" in args else UNSET),
            max_concurrent_incremental_syncs=(
                _limit(args, "MaxConcurrentIncrementalSyncs", 0)
                if "MaxConcurrentIncrementalSyncs" in args else UNSET),
            skip_verification=args.switch("SkipVerification"),
            max_message_size=(_max_message_size(args) if "MaxMessageSize" in args else UNSET),
            service_account_key=(bytes(args["ServiceAccountKeyFileData"])
                                 if "ServiceAccountKeyFileData" in args else None),
            email_address=optional(args, "EmailAddress"),
            shared_storage=args.switch("SharedStorage") if "SharedStorage" in args else None,
        )
        if checked(ctx, args["Identity"], "Change migration endpoint",
                   lambda e: e.set_endpoint(args["Identity"], changes)):
            info = ctx.engine.set_endpoint(args["Identity"], changes)
            if info.warning:
                ctx.write_warning(info.warning)
        return []


class RemoveMigrationEndpoint(Cmdlet):
    name = "Remove-MigrationEndpoint"
    synopsis = "Removes a migration endpoint that no batch uses."
    description = ("Deletes the endpoint's settings (and its stored password). An endpoint "
                   "that a migration batch uses can't be removed: remove the batch first.")
    examples = (Example("Remove-MigrationEndpoint -Identity IMAPEndpoint -Confirm:$false",
                        "Removes the endpoint without asking."),)
    parameters = (identity("migration endpoint", mandatory=True), *ON_PREMISES)
    supports_should_process = True
    confirm_impact = "High"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if checked(ctx, args["Identity"], "Remove migration endpoint",
                   lambda e: e.remove_endpoint(args["Identity"])):
            ctx.engine.remove_endpoint(args["Identity"])
        return []


class TestMigrationServerAvailability(Cmdlet):
    name = "Test-MigrationServerAvailability"
    synopsis = "Tests whether imsh can reach an IMAP server or a migration endpoint."
    description = (
        "Connects for real: -Imap -RemoteServer -Port [-Security] tests a server, -Endpoint "
        "tests a stored endpoint (with its credentials, if any; an EWS endpoint is signed in "
        "to at its URL, never through autodiscover), -Gmail -ServiceAccountKeyFileData "
        "-EmailAddress signs in to Gmail as that user with the service account's token. The "
        "result's Result is Success, Warning (reachable, but a password would travel "
        "unencrypted) or Failed, with Message and "
        "ErrorDetail. IMAP connections time out after 15 seconds.")
    examples = (
        Example("Test-MigrationServerAvailability -Imap -RemoteServer imap.contoso.com -Port 143",
                "Tests the connection to an IMAP server."),
        Example("Test-MigrationServerAvailability -Endpoint IMAPEndpoint",
                "Tests a stored endpoint's settings."),
        Example("Test-MigrationServerAvailability -Gmail -ServiceAccountKeyFileData "
                "([System.IO.File]::ReadAllBytes(\"key.json\")) -EmailAddress admin@contoso.com",
                "Tests a Google Workspace service account by signing in as admin@contoso.com."),
    )
    parameters = (
        Parameter("Imap", T.SWITCH, sets=("IMAP",), help="Test an IMAP server."),
        Parameter("RemoteServer", T.STRING, mandatory=True, sets=("IMAP",),
                  help="The server's host name."),
        Parameter("Port", T.INT, mandatory=True, sets=("IMAP",),
                  help="143 (None or Tls) or 993 (Ssl)."),
        Parameter("Security", T.STRING, choices=_SECURITY, sets=("IMAP",),
                  help="None, Ssl or Tls (default: Ssl on 993, else None)."),
        Parameter("AcceptUntrustedCertificates", T.SWITCH, sets=("IMAP",),
                  help="Do not verify the TLS certificate."),
        Parameter("Authentication", T.STRING, choices=_AUTHENTICATION, sets=("IMAP",),
                  help="Basic (the only method imsh uses)."),
        Parameter("Endpoint", T.STRING, mandatory=True, sets=("TestEndpoint",),
                  help="The migration endpoint to test."),
        Parameter("TestMailbox", T.STRING, sets=("TestEndpoint",),
                  help="A mailbox to sign in to the way the sync will (proxy login with the "
                       "endpoint's -Credentials, or XOAUTH2 with its OAuth app)."),
        Parameter("Gmail", T.SWITCH, mandatory=True, sets=("Gmail",),
                  help="Test signing in to Gmail's IMAP with a Google Workspace service account."),
        Parameter("ServiceAccountKeyFileData", T.BYTES, mandatory=True, sets=("Gmail",),
                  help="The service account's JSON key "
                       "([System.IO.File]::ReadAllBytes(\"key.json\"))."),
        Parameter("EmailAddress", T.STRING, mandatory=True, sets=("Gmail",),
                  help="The Workspace user to sign in as (the service account acts for it)."),
        *unsupported("ExchangeRemoteMove", "ExchangeOutlookAnywhere", "PSTImport",
                     "PublicFolder", "Compliance", "Autodiscover", switch=True),
        *unsupported("Credentials", "ExchangeServer", "RPCProxyServer",
                     "SourceMailboxLegacyDN", "MailboxPermission", "Partition"),
    )
    default_parameter_set = "IMAP"
    supports_should_process = True

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        _authentication(args)
        if "Endpoint" in args:
            result = ctx.engine.test_endpoint(args["Endpoint"], optional(args, "TestMailbox"))
        elif args.switch("Gmail"):
            result = ctx.engine.test_gmail(bytes(args["ServiceAccountKeyFileData"]),
                                           args["EmailAddress"])
        else:
            result = ctx.engine.test_server(args["RemoteServer"], args["Port"], _security(args),
                                            args.switch("AcceptUntrustedCertificates"))
        return [availability_record(result)]


ENDPOINT_CMDLETS: tuple[type[Cmdlet], ...] = (
    NewMigrationEndpoint, GetMigrationEndpoint, SetMigrationEndpoint, RemoveMigrationEndpoint,
    TestMigrationServerAvailability,
)
