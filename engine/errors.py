"""The engine's exception hierarchy.

Every error the engine raises on purpose is an :class:`ImshError`. It carries a plain-language
``message``, a PowerShell ``ErrorCategory`` name (``category``) and a stable ``error_id`` so the
shell can print it the way PowerShell does (``Verb-Noun : message``) without a traceback.

The subclasses say what the caller can do about it:

- :class:`TransientError` — retry later with backoff (connection drop, timeout, server busy);
  :class:`CapacityError` is the kind that says the *target* has no room or capacity now
  (quota, disk full, throttling): the items are fine, nothing about them is concluded.
- :class:`PermanentError` — retrying will not help (bad password, mailbox missing).
- the others are about the request itself (not found, exists, invalid, wrong state, unsupported)
  or about the local state directory (:class:`StateStoreError`).

Messages never contain secrets: callers pass names and addresses, never passwords.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """The subset of PowerShell's ``System.Management.Automation.ErrorCategory`` imsh uses."""

    NotSpecified = "NotSpecified"
    InvalidArgument = "InvalidArgument"
    InvalidData = "InvalidData"
    ObjectNotFound = "ObjectNotFound"
    InvalidOperation = "InvalidOperation"
    ResourceExists = "ResourceExists"
    ResourceUnavailable = "ResourceUnavailable"
    NotImplemented = "NotImplemented"
    ConnectionError = "ConnectionError"
    AuthenticationError = "AuthenticationError"
    PermissionDenied = "PermissionDenied"
    LimitsExceeded = "LimitsExceeded"
    OperationTimeout = "OperationTimeout"
    ReadError = "ReadError"
    WriteError = "WriteError"


class ImshError(Exception):
    """Base of every error the engine raises on purpose."""

    default_category: ErrorCategory = ErrorCategory.NotSpecified
    default_error_id: str = "ImshError"

    def __init__(
        self,
        message: str,
        *,
        category: ErrorCategory | None = None,
        error_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category or self.default_category
        self.error_id = error_id or self.default_error_id

    def __str__(self) -> str:
        return self.message


class NotFoundError(ImshError):
    """The named endpoint, batch, user or key does not exist."""

    default_category = ErrorCategory.ObjectNotFound
    default_error_id = "NotFound"


class AlreadyExistsError(ImshError):
    """An object with that name (compared case-insensitively) already exists."""

    default_category = ErrorCategory.ResourceExists
    default_error_id = "AlreadyExists"


class ValidationError(ImshError):
    """A value given by the user is malformed or out of range."""

    default_category = ErrorCategory.InvalidArgument
    default_error_id = "ValidationFailed"


class InvalidStateError(ImshError):
    """The operation is not allowed in the object's current status."""

    default_category = ErrorCategory.InvalidOperation
    default_error_id = "InvalidState"


class NotSupportedError(ImshError):
    """An Exchange feature imsh does not implement."""

    default_category = ErrorCategory.NotImplemented
    default_error_id = "NotSupported"

    def __init__(self, what: str, *, error_id: str | None = None) -> None:
        super().__init__(f"{what} is not supported by imsh", error_id=error_id)


class TransientError(ImshError):
    """A fault worth retrying with backoff: connection drop, timeout, server busy."""

    default_category = ErrorCategory.ConnectionError
    default_error_id = "TransientFailure"


class CapacityError(TransientError):
    """The target refused for lack of room or capacity (quota, disk full, throttling, "in
    use"): retry later; the refused items are neither skipped nor bad (DESIGN.md §4,
    "Capacity refusals are not verdicts"). docs/sync-planner.md has the table of refusals."""

    default_category = ErrorCategory.LimitsExceeded
    default_error_id = "TargetCapacity"


# Exchange's wording for a full mailbox; a refusal for lack of room starts with it (IMAP and EWS
# targets), and engine/skipped.py recognises such skips by it. Here, not with the IMAP code, so
# that the cmdlets reading skipped items do not import an IMAP client.
MAILBOX_FULL = "This mailbox is full. Please free up some space so that email can be downloaded."


class PermanentError(ImshError):
    """A fault retrying cannot fix: bad password, mailbox missing."""

    default_category = ErrorCategory.InvalidOperation
    default_error_id = "PermanentFailure"


class StateStoreError(ImshError):
    """The state directory, database or key file cannot be used."""

    default_category = ErrorCategory.ReadError
    default_error_id = "StateStoreError"
