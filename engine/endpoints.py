"""From stored rows to live endpoints: the source session settings and login of a migration
user, and a factory of target objects for the batch's target endpoint.

- Source: the IMAP endpoint gives host, port, ``-Security`` and ``-AcceptUntrustedCertificates``;
  the user's CSV row gives UserName/Password/UserRoot, turned into a login plan by
  :func:`engine.adminlogin.plan_login` (admin formats included). A source endpoint with
  ``-Authentication OAuth`` logs in with XOAUTH2 as the UserName, with the endpoint app's token
  (engine/oauth.py); the CSV Password is then not used.
- IMAP target: per-user login with the CSV's TargetUserName/TargetPassword when present, else
  with ``-Authentication OAuth`` XOAUTH2 as the EmailAddress with the endpoint app's token, else
  SASL PLAIN proxy authorization with the endpoint's admin credentials (authzid = EmailAddress);
  the endpoint's ``extra["TargetProxy"] = "master-user"`` selects Dovecot's ``user*admin`` form.
  The endpoint's ``extra["MaxMessageSize"]`` (-MaxMessageSize, bytes) replaces imsh's 35 MB
  default for the messages the target takes (engine/limits.py :class:`MessageSizeLimit`).
- Maildir target: the tree ``<endpoint path>/<email address>``.
- EWS target: the endpoint's settings through
  :func:`engine.targets.ews_settings.ews_settings_from_row` (URL as given, impersonation as the
  endpoint says); the mailbox opened is the EmailAddress, and with the CSV's
  TargetUserName/TargetPassword the EWS target signs in as that user instead (its own mailbox,
  no impersonation; see :meth:`engine.targets.ews.EwsTarget.open_user`).

Each call of :attr:`Endpoints.new_target` gives a fresh target object (its own connection), so
parallel folder workers never share one. Passwords are revealed only here, right before use.

This is the one place that knows the concrete adapters (it wires store rows to them); it sits
beside engine/sync/, not in it, so that the sync sees targets only through the contract
(:class:`engine.targets.base.Target`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.adminlogin import LoginPlan, plan_login
from engine.errors import ErrorCategory, PermanentError
from engine.gmail_endpoint import account_of, is_gmail
from engine.gmail_oauth import gmail_login
from engine.imap.settings import ImapSettings, LoginPlanLike, SimpleLogin
from engine.limits import CONNECTION_TIMEOUT, default_port
from engine.model import IMAPSecurityMechanism
from engine.oauth import app_of, bearer_login, is_oauth
from engine.store.endpoints import EndpointRow, EndpointSpec
from engine.store.users import MigrationUserRow
from engine.targets.base import Target, TargetMailbox

if TYPE_CHECKING:  # the target modules are imported where a target is made: reading
    from engine.targets.imap import ImapTarget  # endpoints must not load the sync engine

# The source may be slow on a big FETCH; Exchange's 15 s is for connecting, not for each reply.
SESSION_TIMEOUT = max(CONNECTION_TIMEOUT.total_seconds(), 120.0)


@dataclass(frozen=True)
class Endpoints:
    """What one sync pass connects to."""

    source: ImapSettings
    login: LoginPlanLike
    mailbox: TargetMailbox
    new_target: Callable[[], Target]
    target_kind: str


def resolve(user: MigrationUserRow, source: EndpointRow, target: EndpointRow, *,
            maildir_fsync: bool = True) -> Endpoints:
    """The live settings for ``user`` of a batch from ``source`` into ``target``."""
    if source.kind != "IMAP":
        raise PermanentError(f"The source endpoint '{source.name}' is not an IMAP endpoint.",
                             category=ErrorCategory.InvalidArgument,
                             error_id="SourceNotImap")
    return Endpoints(
        source=imap_settings(source),
        login=source_login(user, source),
        mailbox=target_mailbox(user),
        new_target=target_factory(target, maildir_fsync=maildir_fsync),
        target_kind=target.kind,
    )


def imap_settings(endpoint: EndpointSpec) -> ImapSettings:
    security = IMAPSecurityMechanism(endpoint.security or IMAPSecurityMechanism.Ssl.value)
    default = default_port(security)
    if not endpoint.remote_server:
        raise PermanentError(f"The endpoint '{endpoint.name}' has no RemoteServer.",
                             category=ErrorCategory.InvalidArgument,
                             error_id="EndpointWithoutServer")
    return ImapSettings(endpoint.remote_server, endpoint.port or default, security,
                        accept_untrusted=endpoint.accept_untrusted_certificates,
                        timeout=SESSION_TIMEOUT)


def source_login(user: MigrationUserRow, source: EndpointRow | None = None
                 ) -> LoginPlan | LoginPlanLike:
    if source is not None and is_gmail(source):  # XOAUTH2 as the user itself
        return gmail_login(account_of(source), user.user_name or user.email_address,
                           user.user_root)
    if source is not None and is_oauth(source):
        return bearer_login(app_of(source), user.user_name, user.user_root)
    if user.password is None:
        raise PermanentError(
            f"No source password is stored for '{user.email_address}'.",
            category=ErrorCategory.AuthenticationError, error_id="SourcePasswordMissing")
    return plan_login(user.user_name, user.password, user.user_root)


def target_mailbox(user: MigrationUserRow) -> TargetMailbox:
    login = None
    if user.target_user_name and user.target_password is not None:
        login = SimpleLogin(user.target_user_name, user.target_password)
    return TargetMailbox(user.email_address, login)


def target_factory(endpoint: EndpointRow, *, maildir_fsync: bool = True
                   ) -> Callable[[], Target]:
    if endpoint.kind == "Maildir":
        if not endpoint.path:
            raise PermanentError(f"The Maildir endpoint '{endpoint.name}' has no path.",
                                 category=ErrorCategory.InvalidArgument,
                                 error_id="MaildirPathMissing")
        root = endpoint.path
        from engine.targets.maildir import MaildirTarget

        return lambda: MaildirTarget(root, fsync=maildir_fsync)
    if endpoint.kind == "IMAP":
        settings = imap_settings(endpoint)
        return lambda: imap_target(endpoint, settings)
    if endpoint.kind == "EWS":
        return _ews_factory(endpoint)
    raise PermanentError(f"imsh cannot sync into a {endpoint.kind} endpoint yet "
                         f"('{endpoint.name}').", category=ErrorCategory.NotImplemented,
                         error_id="TargetKindNotSupported")


def imap_target(endpoint: EndpointSpec, settings: ImapSettings | None = None) -> ImapTarget:
    """The IMAP target of ``endpoint`` (not connected yet): how it logs in per mailbox. Also
    what endpoint verification logs in with, so a verified endpoint logs in as the sync will."""
    from engine.targets.imap import ImapTarget

    settings = settings or imap_settings(endpoint)
    size = max_message_size(endpoint)
    if is_oauth(endpoint):
        return ImapTarget(settings, bearer=app_of(endpoint), max_message_size=size)
    admin = None
    if endpoint.username and endpoint.password is not None:
        admin = SimpleLogin(endpoint.username, endpoint.password)
    proxy = str(endpoint.extra.get("TargetProxy", "authzid"))
    return ImapTarget(settings, admin, proxy=proxy, max_message_size=size)


MAX_MESSAGE_SIZE = "MaxMessageSize"  # extra: the endpoint's -MaxMessageSize in bytes


def max_message_size(endpoint: EndpointSpec) -> int | None:
    """The IMAP endpoint's -MaxMessageSize (None: imsh's default, Exchange Online's 35 MB)."""
    value = (endpoint.extra or {}).get(MAX_MESSAGE_SIZE)
    return int(value) if value is not None else None


def _ews_factory(endpoint: EndpointRow) -> Callable[[], Target]:
    if not endpoint.url:
        raise PermanentError(f"The EWS endpoint '{endpoint.name}' has no URL.",
                             category=ErrorCategory.InvalidArgument,
                             error_id="EwsUrlMissing")
    # imported here: exchangelib costs ~50 MB and 0.2 s, paid only by EWS migrations
    from engine.targets.ews import EwsTarget
    from engine.targets.ews_settings import ews_settings_from_row

    settings = ews_settings_from_row(endpoint)
    return lambda: EwsTarget(settings)
