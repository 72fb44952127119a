"""Documented limits and defaults of IMAP migrations, and the validators that enforce them.

Each constant cites where reference/ms-cmdlets.md found it. Where the sources disagree, the
choice is stated. "Unlimited" values (Exchange's ``Unlimited<int>`` type) are modelled as
``int | None`` with ``None`` meaning unlimited; :func:`parse_unlimited` and
:func:`format_unlimited` convert from and to the text ``Unlimited``.

Exchange documents no message text for these validations (§C); every message below is imsh's
wording, in the style of Exchange's CSV messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.bytesize import byte_quantified_size
from engine.errors import ValidationError
from engine.model import IMAPSecurityMechanism

# --- CSV (§B2, §B4) --------------------------------------------------------------------------
MAX_CSV_ROWS = 50_000  # "The CSV file can contain up to 50,000 rows, one row for each user"
MAX_CSV_BYTES = 10 * 1024 * 1024  # "... and can be as large as 10 MB"

# --- batches (§A6, §A8, §B4) -----------------------------------------------------------------
MAX_BATCH_NAME_LENGTH = 64  # New-MigrationBatch -Name: "The maximum length is 64 characters."
INCREMENTAL_SYNC_INTERVAL = timedelta(hours=24)  # "synchronized every 24 hours"
DEFAULT_REPORT_INTERVAL = timedelta(hours=24)  # -ReportInterval: "every 24 hours"; 0 = never
DEFAULT_RESULT_SIZE = 1000  # Get-MigrationBatch / Get-MigrationUser -ResultSize
SYNCED_IDLE_STOP_AFTER = timedelta(days=60)  # Synced, no admin activity for 60 days -> stopped
STOPPED_OR_FAILED_REMOVE_AFTER = timedelta(days=90)
COMPLETED_REMOVE_AFTER = timedelta(days=60)

# BadItemLimit / LargeItemLimit: on-premises Exchange defaults to 0 ("fails if any bad items are
# detected"); the cloud service deprecated both and records skipped items for review instead.
# imsh behaves like the cloud: by default a bad or too-large item is skipped and reported.
EXCHANGE_ONPREM_DEFAULT_ITEM_LIMIT = 0
DEFAULT_BAD_ITEM_LIMIT: int | None = None  # Unlimited
DEFAULT_LARGE_ITEM_LIMIT: int | None = None  # Unlimited

# --- items (§B4) -----------------------------------------------------------------------------
MAX_MESSAGE_SIZE_BYTES = 35 * 1024 * 1024  # "The biggest email you can migrate is 35 MB."
# Exchange Online's ceiling when the tenant raises a mailbox's limit (Set-Mailbox
# -MaxReceiveSize; exchange-online-2026.md §B3): the most an endpoint's -MaxMessageSize may say.
EXCHANGE_ONLINE_MAX_MESSAGE_SIZE_BYTES = 150 * 1024 * 1024
MAX_ITEMS_PER_MAILBOX = 500_000  # "A maximum of 500,000 items can be migrated"
FOLDER_NAME_FORBIDDEN = "/"  # "Folders with a forward slash ( / ) in the folder name aren't
#                              migrated." (Exchange's rule; imsh's folder mapper decides.)

# --- endpoints (§A1, §B4) --------------------------------------------------------------------
DEFAULT_IMAP_PORT = 993  # New-MigrationEndpoint -Port: "The default value is 993."
PLAIN_OR_STARTTLS_PORT = 143  # "143 for unencrypted connections or ... TLS"
CONNECTION_TIMEOUT = timedelta(seconds=15)  # "... timed out after 00:00:15."
# The cmdlet reference says MaxConcurrentMigrations 100 / MaxConcurrentIncrementalSyncs 20; the
# seed document and the EAC wizard say 20 and 10. imsh follows the seed document (the product it
# is modelled on): 20 initial and 10 incremental syncs at a time.
DEFAULT_MAX_CONCURRENT_MIGRATIONS = 20
DEFAULT_MAX_CONCURRENT_INCREMENTAL_SYNCS = 10
MAX_CONCURRENT_MIGRATIONS_LIMIT = 100  # TSHOOT: "maximum allowed value is 100"

UNLIMITED = "Unlimited"


def default_port(security: IMAPSecurityMechanism) -> int:
    """993 for Ssl; 143 for None and Tls (STARTTLS), as the Port parameter's text gives them."""
    return DEFAULT_IMAP_PORT if security is IMAPSecurityMechanism.Ssl else PLAIN_OR_STARTTLS_PORT


def validate_batch_name(name: str) -> str:
    """Return ``name`` if it can name a migration batch: 1-64 characters, not blank, no control
    characters. Names are compared case-insensitively elsewhere (the store)."""
    if not name.strip():
        raise ValidationError("The migration batch name can't be empty.", error_id="BatchName")
    if len(name) > MAX_BATCH_NAME_LENGTH:
        raise ValidationError(
            f'The migration batch name "{name}" is {len(name)} characters long. '
            f"The maximum length is {MAX_BATCH_NAME_LENGTH} characters.",
            error_id="BatchName",
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationError(
            "The migration batch name can't contain control characters.", error_id="BatchName"
        )
    return name


def parse_unlimited(parameter: str, value: str | int | None) -> int | None:
    """An ``Unlimited`` parameter value: a non-negative integer, or ``Unlimited`` (-> None)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() == UNLIMITED.casefold():
            return None
        if not text.isdigit():
            raise _unlimited_error(parameter, value)
        value = int(text)
    if isinstance(value, bool) or value < 0:
        raise _unlimited_error(parameter, value)
    return value


def _unlimited_error(parameter: str, value: object) -> ValidationError:
    return ValidationError(
        f'The value "{value}" of parameter {parameter} isn\'t valid. '
        "Enter a non-negative integer or the value Unlimited.",
        error_id="InvalidUnlimitedValue",
    )


def format_unlimited(value: int | None) -> str:
    """How Exchange prints an ``Unlimited<int>``: the number, or ``Unlimited``."""
    return UNLIMITED if value is None else str(value)


def validate_port(port: int) -> int:
    """A TCP port number, 1-65535."""
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValidationError(
            f'The port number "{port}" isn\'t valid. Enter a number from 1 through 65535.',
            error_id="InvalidPort",
        )
    return port


def validate_concurrency(max_migrations: int, max_incremental: int) -> None:
    """MaxConcurrentMigrations 1-100; MaxConcurrentIncrementalSyncs 1-100 and "less or equal to
    MaxConcurrentMigrations" (Set-MigrationEndpoint)."""
    for parameter, value in (
        ("MaxConcurrentMigrations", max_migrations),
        ("MaxConcurrentIncrementalSyncs", max_incremental),
    ):
        if isinstance(value, bool) or not 1 <= value <= MAX_CONCURRENT_MIGRATIONS_LIMIT:
            raise ValidationError(
                f'The value "{value}" of parameter {parameter} isn\'t valid. Enter a number '
                f"from 1 through {MAX_CONCURRENT_MIGRATIONS_LIMIT}.",
                error_id="InvalidConcurrency",
            )
    if max_incremental > max_migrations:
        raise ValidationError(
            f"MaxConcurrentIncrementalSyncs ({max_incremental}) must be less than or equal to "
            f"MaxConcurrentMigrations ({max_migrations}).",
            error_id="InvalidConcurrency",
        )


def validate_report_interval(interval: timedelta) -> timedelta:
    """-ReportInterval: zero (never send reports) or a positive time span."""
    if interval < timedelta(0):
        raise ValidationError(
            f'The report interval "{interval}" isn\'t valid. Enter 0 to never send reports, '
            "or a positive time span such as 1.00:00:00.",
            error_id="InvalidReportInterval",
        )
    return interval


# --- message size (imsh's wording) -----------------------------------------------------------

DEFAULT_SIZE_ORIGIN = "Exchange Online's default maximum message size"
ENDPOINT_SIZE_ORIGIN = "the target endpoint's MaxMessageSize"
APPENDLIMIT_ORIGIN = "the target server's APPENDLIMIT"


@dataclass(frozen=True)
class MessageSizeLimit:
    """The largest message a pass copies, and where that limit comes from (for the admin)."""

    limit: int
    origin: str

    def reason(self, size: int) -> str:
        """The skipped item's reason for a message of ``size`` bytes over this limit."""
        text = ("The message is larger than the maximum message size: "
                f"{byte_quantified_size(size)} is over {byte_quantified_size(self.limit)}, "
                f"{self.origin}.")
        if self.origin == APPENDLIMIT_ORIGIN:
            return text + " The server accepts nothing larger."
        if size > EXCHANGE_ONLINE_MAX_MESSAGE_SIZE_BYTES:
            return text + " Exchange Online accepts no message over 150 MB."
        return (text + " The tenant can raise the mailbox's limit up to 150 MB (Set-Mailbox "
                "-MaxReceiveSize); then raise the endpoint's (Set-MigrationEndpoint "
                "-MaxMessageSize), and the next synchronization copies the message.")


def message_size_limit(default: int | None, endpoint: int | None = None,
                       append_limit: int | None = None) -> MessageSizeLimit | None:
    """The limit of a pass: the endpoint's -MaxMessageSize in place of the default, lowered
    by the server's APPENDLIMIT (RFC 7889) when that is smaller. None: unlimited."""
    chosen = None
    if endpoint is not None:
        chosen = MessageSizeLimit(endpoint, ENDPOINT_SIZE_ORIGIN)
    elif default is not None:
        chosen = MessageSizeLimit(default, DEFAULT_SIZE_ORIGIN
                                  if default == MAX_MESSAGE_SIZE_BYTES else "imsh's setting")
    if append_limit is not None and (chosen is None or append_limit < chosen.limit):
        chosen = MessageSizeLimit(append_limit, APPENDLIMIT_ORIGIN)
    return chosen


def validate_max_message_size(value: int) -> int:
    """-MaxMessageSize on an endpoint: 1 byte to Exchange Online's 150 MB."""
    if not 0 < value <= EXCHANGE_ONLINE_MAX_MESSAGE_SIZE_BYTES:
        raise ValidationError(
            f"The value {value} isn't valid for -MaxMessageSize. Give a size from 1 byte to "
            f"150 MB ({EXCHANGE_ONLINE_MAX_MESSAGE_SIZE_BYTES:,} bytes), for example 150MB.",
            error_id="MaxMessageSize")
    return value


