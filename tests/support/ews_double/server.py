"""The EWS test double: an HTTP(S) server on 127.0.0.1 answering exchangelib's SOAP requests.

It is a test double, not an Exchange emulator: it knows the operations of
:mod:`.operations` and :mod:`.folder_changes`, checks every request against the shapes of
:mod:`.shapes`, and keeps mailboxes in memory (:mod:`.store`). What tests can set and read:

- ``users`` (name -> password) for Basic authentication: no or wrong ``Authorization`` gets
  401 with ``WWW-Authenticate: Basic``; ``impersonators`` may send ``ExchangeImpersonation``
  (others get ``ErrorImpersonateUserDenied``); ``own_mailbox`` maps a user to the mailbox a
  request without impersonation or explicit mailbox means.
- :meth:`EwsDouble.throttle` answers the next N requests (of the given operations) with an
  ``ErrorServerBusy`` fault carrying ``BackOffMilliseconds``;
  :meth:`EwsDouble.reject_items_containing` makes CreateItem refuse items whose MIME contains
  a marker, per item (``ErrorItemSave`` by default).
- ``requests`` logs every request (method, path, operation, time); ``violations`` lists every
  request that did not have the expected shape (tests assert it stays empty);
  :meth:`EwsDouble.items` reads a folder's stored items back.

``https=True`` serves TLS with a fresh self-signed certificate (``cert_path``).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ews_double import folder_changes, operations, soap
from tests.support.ews_double.operations import Call, Fault
from tests.support.ews_double.shapes import ShapeError, envelope, impersonated
from tests.support.ews_double.store import Mailbox, StoredItem

EWS_PATH = "/EWS/Exchange.asmx"
HANDLERS = {**operations.HANDLERS, **folder_changes.HANDLERS}


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    operation: str | None
    at: float
    authorization: str | None
    body: bytes


@dataclass
class _Throttle:
    remaining: int
    back_off_ms: int
    operations: frozenset[str] | None


@dataclass
class EwsDouble:
    """State and knobs of one double (see the module docstring)."""

    users: dict[str, str]
    impersonators: set[str] = field(default_factory=set)
    own_mailbox: dict[str, str] = field(default_factory=dict)
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _throttle: _Throttle | None = None
    _reject: tuple[bytes, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_mailbox(self, address: str) -> Mailbox:
        mailbox = self.mailboxes.setdefault(address.lower(), Mailbox(address))
        return mailbox

    def own_address(self, user: str) -> str:
        return self.own_mailbox.get(user, user)

    def throttle(self, times: int, back_off_ms: int,
                 operations: set[str] | None = None) -> None:
        self._throttle = _Throttle(times, back_off_ms,
                                   frozenset(operations) if operations else None)

    def reject_items_containing(self, marker: bytes, code: str = "ErrorItemSave") -> None:
        self._reject = (marker, code)

    def rejection_for(self, mime: bytes) -> str | None:
        if self._reject is not None and self._reject[0] in mime:
            return self._reject[1]
        return None

    def items(self, address: str, path: tuple[str, ...]) -> list[StoredItem]:
        """Stored items of a folder, by display names below Top of Information Store."""
        mailbox = self.mailboxes[address.lower()]
        folder = mailbox.folder_at(path)
        if folder is None:
            raise KeyError(f"no folder {'/'.join(path)} in {address}")
        return mailbox.items_in(folder.folder_id)

    def operations(self) -> list[str | None]:
        return [r.operation for r in self.requests]

    def busy(self, operation: str) -> int | None:
        """The back-off to answer with now, if throttling applies to this request."""
        throttle = self._throttle
        if throttle is None or throttle.remaining <= 0:
            return None
        if throttle.operations is not None and operation not in throttle.operations:
            return None
        throttle.remaining -= 1
        return throttle.back_off_ms


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle, each answer waits for the
    # client's delayed ACK (~40 ms), which made every request cost that much
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._log(None, b"")
        self._send(405, b"", "text/plain")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        double = self.server.double
        with double.lock:
            status, payload, extra = self._answer(double, body)
        self._send(status, payload, "text/xml; charset=utf-8", extra)

    def _answer(self, double: EwsDouble, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        operation = None
        try:
            header, op = envelope(body)
            operation = soap.local(op.tag)
        except ShapeError as exc:
            return self._violation(double, operation, str(exc))
        finally:
            self._log(operation, body)
        if self.path.split("?")[0].lower() != EWS_PATH.lower():
            return 404, b"", {}
        user = self._user(double)
        if user is None:
            return 401, b"", {"WWW-Authenticate": 'Basic realm="ews-double"'}
        back_off = double.busy(operation)
        if back_off is not None:
            return 500, soap.fault("ErrorServerBusy", "The server cannot service this request "
                                   "right now. Try again later.", back_off), {}
        handler = HANDLERS.get(operation)
        if handler is None:
            return self._violation(double, operation, f"unsupported operation {operation}")
        try:
            target = impersonated(header)
            if target is not None and user not in double.impersonators:
                raise Fault("ErrorImpersonateUserDenied",
                            "The account does not have permission to impersonate the user.")
            return 200, soap.envelope(handler(Call(double, user, target), op)), {}
        except ShapeError as exc:
            return self._violation(double, operation, str(exc))
        except Fault as exc:
            return 500, soap.fault(exc.code, exc.text), {}

    def _violation(self, double: EwsDouble, operation: str | None,
                   text: str) -> tuple[int, bytes, dict[str, str]]:
        double.violations.append(f"{operation}: {text}")
        return 500, soap.fault("ErrorSchemaValidation", f"EWS test double: {text}"), {}

    def _user(self, double: EwsDouble) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeError):
            return None
        return name if double.users.get(name) == password else None

    def _log(self, operation: str | None, body: bytes) -> None:
        self.server.double.requests.append(LoggedRequest(
            self.command, self.path, operation, time.monotonic(),
            self.headers.get("Authorization"), body))

    def _send(self, status: int, payload: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, double: EwsDouble) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.double = double


class EwsDoubleServer:
    """Runs an :class:`EwsDouble` on a free port; use as a context manager."""

    def __init__(self, double: EwsDouble, *, https: bool = False) -> None:
        self.double = double
        self.https = https
        self.cert_path: Path | None = None
        self._server = _Server(double)
        if https:
            self._wrap_tls()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.https else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}{EWS_PATH}"

    def _wrap_tls(self) -> None:
        directory = Path(tempfile.mkdtemp(prefix="ews-double-", dir="/tmp"))
        self.cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        _self_signed(self.cert_path, key_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    def __enter__(self) -> EwsDoubleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _self_signed(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ews-double.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
