"""The one module that holds plaintext passwords: :class:`Secret` and :class:`Sealer`.

``Secret`` wraps a password. ``repr``, ``str``, ``format`` (f-strings, ``%s``, logging) and
pickling show ``********``; only :meth:`Secret.reveal` returns the plaintext, and only code that
hands it to a server (IMAP login, EWS, SMTP) should call it. A ``Secret`` that crossed a pickle
boundary is *redacted*: it still prints as ``********`` but ``reveal()`` raises, so a masked
value can never be sent to a server by mistake.

``Sealer`` encrypts a ``Secret`` for the database with AES-256-GCM:

    sealed = "v1:" + base64url(nonce[12] || ciphertext || tag[16])

with a fresh random 96-bit nonce per value and associated data ``b"imsh:v1:" + purpose``, where
the purpose names the column (``"endpoints.password"``) so a sealed value copied into another
column does not unseal. The 256-bit key lives in the key file (base64url text, mode 0600),
created atomically on first use: the key is written to a temporary file that is then hard-linked
to its final name, which fails if another process got there first (O_EXCL semantics without a
window in which a half-written key file is visible).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.errors import ErrorCategory, ImshError, StateStoreError

MASK = "********"
SEAL_VERSION = "v1"
_PREFIX = SEAL_VERSION + ":"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_KEY_FILE_MODE = 0o600
# Per-process random key so hash(Secret) says nothing about the plaintext across processes.
_HASH_KEY = os.urandom(32)


class Secret:
    """A password that never shows itself except through :meth:`reveal`."""

    __slots__ = ("_redacted", "_value")

    def __init__(self, plaintext: str) -> None:
        if not isinstance(plaintext, str):
            raise TypeError("Secret wraps a str")
        self._value = plaintext
        self._redacted = False

    def reveal(self) -> str:
        """Return the plaintext. Call only where it is handed to a server."""
        if self._redacted:
            raise ImshError(
                "the password was redacted when it was copied between processes",
                category=ErrorCategory.InvalidOperation,
                error_id="SecretRedacted",
            )
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_redacted_secret, ())

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine, theirs = self._value.encode(), other._value.encode()
        return hmac.compare_digest(mine, theirs) and self._redacted == other._redacted

    def __hash__(self) -> int:
        return hash(hmac.new(_HASH_KEY, self._value.encode(), hashlib.sha256).digest())

    def __bool__(self) -> bool:
        return bool(self._value)

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_redacted"):
            raise AttributeError("Secret is immutable")
        object.__setattr__(self, name, value)


def _redacted_secret() -> Secret:
    secret = Secret.__new__(Secret)
    object.__setattr__(secret, "_value", MASK)
    object.__setattr__(secret, "_redacted", True)
    return secret


class Sealer:
    """Seals secrets for storage and unseals them, with one AES-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError("the sealing key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def load(cls, key_file: Path) -> Sealer:
        """Load the key from ``key_file``; a missing or corrupt file is a StateStoreError."""
        return cls(read_key_file(key_file))

    @classmethod
    def load_or_create(cls, key_file: Path) -> Sealer:
        """Load the key, creating the key file (mode 0600) when it does not exist yet."""
        if not key_file.exists():
            create_key_file(key_file)
        return cls.load(key_file)

    def seal(self, secret: Secret, purpose: str) -> str:
        """Encrypt ``secret`` for the column (or other use) named by ``purpose``."""
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, secret.reveal().encode(), _aad(purpose))
        return _PREFIX + base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")

    def unseal(self, sealed: str, purpose: str) -> Secret:
        """Decrypt a value made by :meth:`seal` with the same ``purpose``."""
        if not sealed.startswith(_PREFIX):
            _unreadable(purpose, "unknown sealing format")
        try:
            blob = base64.urlsafe_b64decode(sealed[len(_PREFIX) :].encode("ascii"))
            nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
            plaintext = self._aead.decrypt(nonce, ciphertext, _aad(purpose))
            return Secret(plaintext.decode())
        except (InvalidTag, binascii.Error, ValueError, UnicodeError):
            _unreadable(purpose, "the key file does not match the key that sealed it")


def read_key_file(key_file: Path) -> bytes:
    """Return the 32-byte key stored in ``key_file``."""
    try:
        text = key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise StateStoreError(
            f"the key file {key_file} is missing; the stored passwords cannot be read "
            "without it (restore it, or point IMSH_KEY_FILE at it)",
            category=ErrorCategory.ObjectNotFound,
            error_id="SecretKeyMissing",
        ) from None
    except (OSError, UnicodeError) as exc:
        raise _corrupt_key(key_file, str(exc)) from None
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError):
        raise _corrupt_key(key_file, "not base64 text") from None
    if len(key) != _KEY_BYTES:
        raise _corrupt_key(key_file, f"expected {_KEY_BYTES} bytes, found {len(key)}")
    return key


def create_key_file(key_file: Path) -> None:
    """Write a fresh random key to ``key_file`` (0600) unless another process already did."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).decode("ascii") + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, _KEY_FILE_MODE)  # the umask may have removed bits; never added any
        # A concurrent process that linked first wins; its key is the one everyone loads.
        with contextlib.suppress(FileExistsError):
            os.link(temp, key_file)
    finally:
        temp.unlink(missing_ok=True)


def _aad(purpose: str) -> bytes:
    return f"imsh:{SEAL_VERSION}:{purpose}".encode()


def _unreadable(purpose: str, reason: str) -> NoReturn:
    raise StateStoreError(
        f"cannot unseal the stored secret for {purpose}: {reason}",
        category=ErrorCategory.InvalidData,
        error_id="SecretUnsealFailed",
    )


def _corrupt_key(key_file: Path, reason: str) -> StateStoreError:
    return StateStoreError(
        f"the key file {key_file} is unreadable or corrupt ({reason})",
        category=ErrorCategory.InvalidData,
        error_id="SecretKeyCorrupt",
    )


@dataclass(frozen=True)
class Credential:
    """A user name and its sealed password: ``-Credentials`` of an endpoint, ``-SmtpCredentials``
    of the configuration (a PSCredential in PowerShell terms). The one such record; the password
    stays a :class:`Secret` until the moment of use."""

    user_name: str
    password: Secret
