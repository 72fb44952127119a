"""A local OAuth 2.0 token service on 127.0.0.1, shaped like the Microsoft identity platform.

msal runs against it unmodified (only its authority is pointed here): it serves, over HTTPS with
a certificate from its own test CA,

- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` -- the OpenID discovery document;
- ``POST /{tenant}/oauth2/v2.0/token`` -- the client-credentials grant (``client_secret``, or a
  ``client_assertion`` JWT signed with a registered certificate's key), answering as Entra ID
  does: ``token_type``/``expires_in``/``access_token``, or ``error``/``error_description`` with
  the AADSTS code (7000215 invalid secret, 700016 unknown application, 90002 unknown tenant);
- ``GET /common/discovery/instance`` -- instance discovery, for an msal that asks for it;
- ``POST /introspect`` -- RFC 7662 introspection, not Microsoft's: the Dovecot ``oauth2``
  passdb validates the bearer tokens imsh presents with it. An active token answers
  ``email = <client id>@<tenant domain>``; Dovecot compares domains (``username_format = %Ld``),
  so an application may log in to every mailbox of its tenant's domain, as an Exchange app with
  ``FullAccess`` may. An inactive token answers a domain no user has, so Dovecot refuses the
  login as a failed authentication (not as a temporary failure).

It also speaks Google's JWT-bearer grant (RFC 7523), as ``oauth2.googleapis.com/token`` does for
a service account with domain-wide delegation (engine/gmail_oauth.py):

- ``POST /google/token`` -- ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with an
  RS256 ``assertion`` signed by a registered service account's key (:meth:`TokenService.
  register_google`), ``aud`` this URL or Google's (google-auth always names Google's),
  ``scope`` holding ``https://mail.google.com/`` and ``sub`` a user of the account's domain;
  errors as Google words them (``invalid_grant``, ``unauthorized_client``). Introspection
  answers ``email = <sub>``: each token serves its own
  user's mailbox only, as on Gmail.

Tokens are JWTs (HS256 with a key of the service) carrying ``tid``, ``appid``, ``aud``,
``roles``, ``exp`` and a ``jti``. Everything the service does is logged in memory for the tests:
:attr:`TokenService.issued` (one entry per token handed out: "one token per endpoint per
lifetime" is counted there), :attr:`TokenService.refused` (grant requests refused) and
:attr:`TokenService.introspected`. Tests can :meth:`~TokenService.revoke` an application's
secret, give an application a *real* lifetime shorter than the ``expires_in`` it advertises
(a token expires while a client still holds it), or stop accepting each token after a number of
logins (``max_logins``: the same, without depending on how fast the test runs).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port

LOOPBACK = "127.0.0.1"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
EXCHANGE_AUDIENCE = "https://outlook.office365.com"
_ROLES = ["IMAP.AccessAsApp", "SMTP.SendAsApp"]
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_AUDIENCE = "https://mail.google.com"
# google-auth addresses every assertion to Google's token endpoint, whatever token_uri says
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class App:
    """An application registration: its tenant, credentials and token lifetime."""

    tenant: str
    client_id: str
    domain: str
    secret: str | None = None
    certificate_pem: bytes | None = None
    lifetime: float = 3600.0  # seconds the token really lives (introspection says so)
    advertised: int | None = None  # expires_in told to the client; default: the lifetime
    revoked: bool = False
    max_logins: int | None = None  # a token stops being accepted after this many logins


@dataclass
class GoogleAccount:
    """A service account with domain-wide delegation for ``domain`` (and the Gmail scope)."""

    client_email: str
    public_pem: bytes
    domain: str
    lifetime: float = 3600.0


@dataclass(frozen=True)
class Issued:
    client_id: str
    tenant: str
    jti: str
    at: float
    expires_at: float
    token: str = field(repr=False, default="")


@dataclass
class TokenService:
    """A running service; see the module docstring."""

    dir: Path
    port: int = 0
    apps: dict[str, App] = field(default_factory=dict)
    issued: list[Issued] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (client id, error code)
    introspected: list[tuple[str, bool]] = field(default_factory=list)  # (jti, active)
    google: dict[str, GoogleAccount] = field(default_factory=dict)
    imap_refused: set[str] = field(default_factory=set)  # Google subjects IMAP turns away
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    # --- what tests use ---------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """The authority host URL, as an endpoint's ``-Authority`` takes it."""
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def introspection_url(self) -> str:
        return f"{self.authority}/introspect"

    def register(self, tenant: str, client_id: str, domain: str, *, secret: str | None = None,
                 certificate_pem: bytes | None = None, lifetime: float = 3600.0,
                 advertised: int | None = None, max_logins: int | None = None) -> App:
        app = App(tenant, client_id, domain, secret, certificate_pem, lifetime, advertised,
                  max_logins=max_logins)
        with self._lock:
            self.apps[client_id] = app
        return app

    @property
    def google_token_uri(self) -> str:
        return f"{self.authority}/google/token"

    def register_google(self, client_email: str, public_pem: bytes, domain: str,
                        lifetime: float = 3600.0) -> GoogleAccount:
        account = GoogleAccount(client_email, public_pem, domain, lifetime)
        with self._lock:
            self.google[client_email] = account
        return account

    def google_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._google_refuse("", "unsupported_grant_type", "Invalid grant_type.")
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return self._google_refuse("", "invalid_grant", "Invalid JWT.")
        issuer = str(unverified.get("iss", ""))
        with self._lock:
            account = self.google.get(issuer)
        if account is None:
            return self._google_refuse(issuer, "invalid_grant", "Invalid grant: account not "
                                       "found")
        public = serialization.load_pem_public_key(account.public_pem)
        try:
            claims = jwt.decode(assertion, public,  # type: ignore[arg-type]
                                algorithms=["RS256"],
                                audience=[self.google_token_uri, GOOGLE_TOKEN_AUDIENCE])
        except jwt.InvalidTokenError:
            return self._google_refuse(issuer, "invalid_grant", "Invalid JWT Signature.")
        subject = str(claims.get("sub", ""))
        if GOOGLE_SCOPE not in str(claims.get("scope", "")).split() or \
                not subject.lower().endswith("@" + account.domain):
            return self._google_refuse(
                issuer, "unauthorized_client", "Client is unauthorized to retrieve access "
                "tokens using this method, or client not authorized for any of the scopes "
                "requested.")
        now = time.time()
        jti = uuid.uuid4().hex
        expires_at = now + account.lifetime
        token = jwt.encode({"aud": GOOGLE_AUDIENCE, "sub": subject, "azp": issuer,
                            "jti": jti, "iat": int(now), "exp": int(expires_at) + 1},
                           self._key, algorithm="HS256")
        with self._lock:
            self.issued.append(Issued(issuer, subject, jti, now, expires_at, token))
        return 200, {"access_token": token, "expires_in": int(account.lifetime),
                     "token_type": "Bearer"}

    def _google_refuse(self, issuer: str, error: str, text: str
                       ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.refused.append((issuer, error))
        return (401 if error == "unauthorized_client" else 400,
                {"error": error, "error_description": text})

    def revoke(self, client_id: str) -> None:
        """The app's secret no longer works, and no token issued to it is active any more."""
        with self._lock:
            self.apps[client_id].revoked = True

    def issued_to(self, client_id: str) -> list[Issued]:
        with self._lock:
            return [t for t in self.issued if t.client_id == client_id]

    def refused_for(self, client_id: str) -> list[str]:
        with self._lock:
            return [code for cid, code in self.refused if cid == client_id]

    def active_logins(self) -> int:
        with self._lock:
            return sum(1 for _jti, active in self.introspected if active)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the protocol -----------------------------------------------------------------------

    def discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.authority}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{self.authority}/{tenant}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def grant(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials":
            return self._refuse(client_id, 400, "unsupported_grant_type", 70003,
                                "The app requested an unsupported grant type.")
        with self._lock:
            app = self.apps.get(client_id)
        if app is None or app.tenant != tenant:
            if not any(a.tenant == tenant for a in self.apps.values()):
                return self._refuse(client_id, 400, "invalid_request", 90002,
                                    f"Tenant '{tenant}' not found.")
            return self._refuse(client_id, 400, "unauthorized_client", 700016,
                                f"Application with identifier '{client_id}' was not found "
                                f"in the directory '{tenant}'.")
        if not self._authenticated(app, form):
            return self._refuse(client_id, 401, "invalid_client", 7000215,
                                "Invalid client secret provided. Ensure the secret being sent "
                                "in the request is the client secret value, not the client "
                                f"secret ID, for a secret added to app '{client_id}'.")
        if EXCHANGE_SCOPE not in form.get("scope", "").split():
            return self._refuse(client_id, 400, "invalid_scope", 1002012,
                                f"The provided value for scope {form.get('scope')} is not "
                                "valid. Client credential flows must have a scope value "
                                "with /.default suffixed to the resource identifier.")
        now = time.time()
        jti = uuid.uuid4().hex
        expires_at = now + app.lifetime
        claims = {"aud": EXCHANGE_AUDIENCE, "iss": f"https://sts.windows.net/{tenant}/",
                  "tid": tenant, "appid": client_id, "roles": _ROLES, "jti": jti,
                  "iat": int(now), "nbf": int(now), "exp": int(expires_at) + 1}
        token = jwt.encode(claims, self._key, algorithm="HS256")
        with self._lock:
            self.issued.append(Issued(client_id, tenant, jti, now, expires_at, token))
        expires_in = app.advertised if app.advertised is not None else int(app.lifetime)
        return 200, {"token_type": "Bearer", "expires_in": expires_in,
                     "ext_expires_in": expires_in, "access_token": token}

    def introspect(self, token: str) -> dict[str, Any]:
        try:
            google = jwt.decode(token, self._key, algorithms=["HS256"],
                                audience=GOOGLE_AUDIENCE, options={"verify_exp": False})
        except jwt.InvalidTokenError:
            google = None
        if google is not None:
            with self._lock:
                entry = next((t for t in self.issued if t.jti == google.get("jti")), None)
            if (entry is None or time.time() >= entry.expires_at
                    or str(google.get("sub")) in self.imap_refused):  # e.g. IMAP off for it
                return self._inactive(str(google.get("jti", "")))
            with self._lock:
                self.introspected.append((entry.jti, True))
            return {"active": "true", "email": str(google["sub"]), "scope": GOOGLE_SCOPE}
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"],
                                audience=EXCHANGE_AUDIENCE, options={"verify_exp": False})
        except jwt.InvalidTokenError:
            return self._inactive("")
        with self._lock:
            app = self.apps.get(str(claims.get("appid")))
            entry = next((t for t in self.issued if t.jti == claims.get("jti")), None)
        if app is None or entry is None or app.revoked or time.time() >= entry.expires_at:
            return self._inactive(str(claims.get("jti", "")))
        if app.max_logins is not None:
            with self._lock:
                used = sum(1 for jti, active in self.introspected if active and jti == entry.jti)
            if used >= app.max_logins:  # the server stopped accepting it (revoked, CAE)
                return self._inactive(entry.jti)
        with self._lock:
            self.introspected.append((entry.jti, True))
        return {"active": "true", "email": f"{app.client_id}@{app.domain}",
                "scope": EXCHANGE_SCOPE, "client_id": app.client_id}

    def _inactive(self, jti: str) -> dict[str, Any]:
        with self._lock:
            self.introspected.append((jti, False))
        return {"active": "false", "email": "inactive@token.invalid"}

    def _authenticated(self, app: App, form: dict[str, str]) -> bool:
        if app.revoked:
            return False
        if "client_assertion" in form:
            if app.certificate_pem is None:
                return False
            public = x509.load_pem_x509_certificate(app.certificate_pem).public_key()
            try:
                claims = jwt.decode(form["client_assertion"], public,  # type: ignore[arg-type]
                                    algorithms=["RS256", "PS256"],
                                    options={"verify_aud": False})
            except jwt.InvalidTokenError:
                return False
            return bool(claims.get("iss") == app.client_id == claims.get("sub"))
        return app.secret is not None and secrets.compare_digest(
            form.get("client_secret", ""), app.secret)

    def _refuse(self, client_id: str, status: int, error: str, code: int,
                text: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.refused.append((client_id, error))
        trace = uuid.uuid4()
        stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%SZ}"
        return status, {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: "
                                 f"{uuid.uuid4()} Timestamp: {stamp}",
            "error_codes": [code], "trace_id": str(trace),
        }


def start_token_service(directory: Path | None = None) -> TokenService:
    """Start the service on a free port of 127.0.0.1 with a fresh test CA under ``directory``
    (default: a new directory under /tmp, readable by Dovecot's auth process)."""
    import tempfile

    root = directory or Path(tempfile.mkdtemp(prefix="tokensvc-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    _write_ca_and_cert(root)
    service = TokenService(root)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(root / "cert.pem", root / "key.pem")
    last: OSError | None = None
    for _ in range(5):
        port = free_port()
        try:
            server = ThreadingHTTPServer((LOOPBACK, port), _handler(service))
        except OSError as exc:
            last = exc
            continue
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        service.port = port
        service._server = server
        threading.Thread(target=server.serve_forever, name="token-service",
                         daemon=True).start()
        return service
    raise RuntimeError(f"token service did not start: {last}")


def _handler(service: TokenService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            segments = [s for s in parts.path.split("/") if s]
            if segments[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                self._json(200, service.discovery(segments[0]))
            elif segments == ["common", "discovery", "instance"]:
                endpoint = parse_qs(parts.query).get("authorization_endpoint", [""])[0]
                tenant = urlsplit(endpoint).path.split("/")[1] if endpoint else "common"
                self._json(200, {"tenant_discovery_endpoint": f"{service.authority}/{tenant}"
                                 "/v2.0/.well-known/openid-configuration",
                                 "api-version": "1.1", "metadata": []})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            segments = [s for s in urlsplit(self.path).path.split("/") if s]
            if segments == ["introspect"]:
                self._json(200, service.introspect(form.get("token", "")))
            elif segments == ["google", "token"]:
                self._json(*service.google_grant(form))
            elif segments[1:] == ["oauth2", "v2.0", "token"]:
                self._json(*service.grant(segments[0], form))
            else:
                self._json(404, {"error": "not_found"})

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _write_ca_and_cert(root: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imsh test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import ipaddress

    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (root / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = root / "key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    (root / "ca.pem").chmod(0o644)


def client_certificate(common_name: str = "imsh app") -> tuple[bytes, bytes]:
    """A self-signed certificate and its private key (PEM), as an app registration's
    certificate credential."""
    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def google_service_account_key(service: TokenService, client_email: str, domain: str) -> bytes:
    """A new service account registered with ``service`` (delegated for ``domain``): its JSON
    key as Google's console downloads it, with ``token_uri`` pointing at ``service``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    service.register_google(client_email, public, domain)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return json.dumps({
        "type": "service_account", "project_id": "imsh-test",
        "private_key_id": uuid.uuid4().hex, "private_key": private,
        "client_email": client_email, "client_id": str(uuid.uuid4().int)[:21],
        "token_uri": service.google_token_uri,
    }, indent=2).encode()
