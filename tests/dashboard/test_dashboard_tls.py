"""``imsh dashboard`` with TLS and client certificates, with certificates made here
(cryptography): a CA, the dashboard's certificate, a client certificate the CA signed and one
another CA signed. A real ``imsh dashboard`` process; a state made by the façade."""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointRequest
from tests.dashboard.support import imsh_argv, imsh_env, wait_until
from tests.support.ports import free_port

CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw-of-ann\r\n"


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


def _issue(directory: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
           | None, *, ca: bool = False, server: bool = False) -> tuple[
               Pem, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_cert, signer_key = issuer if issuer is not None else (None, key)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(signer_cert.subject if signer_cert is not None else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    elif server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    pem = Pem(directory / f"{name}.crt", directory / f"{name}.key")
    pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pem.key.chmod(0o600)
    return pem, cert, key


@dataclass
class Certificates:
    ca: Pem
    server: Pem
    client: Pem
    stranger: Pem  # a client certificate another CA signed


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_cert, ca_key = _issue(directory, "imsh-test-ca", None, ca=True)
    _, other_cert, other_key = _issue(directory, "other-ca", None, ca=True)
    server, _, _ = _issue(directory, "dashboard", (ca_cert, ca_key), server=True)
    client, _, _ = _issue(directory, "admin", (ca_cert, ca_key))
    stranger, _, _ = _issue(directory, "stranger", (other_cert, other_key))
    return Certificates(ca, server, client, stranger)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("tls") / "state"
    with Engine.open(resolve_state_paths(state, env={})) as engine:
        engine.new_endpoint(EndpointRequest(name="Source", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        engine.new_batch(BatchRequest(name="B1", source_endpoint="Source", csv_data=CSV))
    return state


def _client(certs: Certificates, pem: Pem | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca.cert))
    if pem is not None:
        context.load_cert_chain(str(pem.cert), str(pem.key))
    return context


def _get(port: int, context: ssl.SSLContext, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def certified(state: Path, certificates: Certificates) -> Iterator[tuple[int, str]]:
    """A dashboard that requires client certificates the test CA signed: (port, banner)."""
    port = free_port()
    process = subprocess.Popen(
        [*imsh_argv(), "--state", str(state), "dashboard", "--listen", f"127.0.0.1:{port}",
         "--tls-cert", str(certificates.server.cert), "--tls-key", str(certificates.server.key),
         "--client-ca", str(certificates.ca.cert)],
        env=imsh_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    banner = process.stdout.readline()

    def answers() -> bool:
        try:
            return _get(port, _client(certificates, certificates.client), "/")[0] == 200
        except OSError:
            return False

    try:
        wait_until(answers, 20, "the dashboard to answer over TLS")
        yield port, banner
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_browser_with_a_certificate_the_ca_signed_gets_in_without_a_token(
        certified: tuple[int, str], certificates: Certificates) -> None:
    port, banner = certified
    assert f"https://127.0.0.1:{port}/" in banner and "token" not in banner
    status, body = _get(port, _client(certificates, certificates.client), "/api/overview.json")
    assert status == 200
    assert [b["identity"] for b in json.loads(body)["batches"]] == ["B1"]


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
def test_a_browser_without_a_certificate_the_ca_signed_is_refused(
        certified: tuple[int, str], certificates: Certificates, who: str) -> None:
    port, _ = certified
    pem = None if who == "no certificate" else certificates.stranger
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        _get(port, _client(certificates, pem), "/api/overview.json")


def test_listening_beyond_loopback_over_plain_http_is_refused(state: Path) -> None:
    result = subprocess.run([*imsh_argv(), "--state", str(state), "dashboard", "--listen",
                             f"0.0.0.0:{free_port()}"], env=imsh_env(), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "only over HTTPS" in result.stderr and "Traceback" not in result.stderr
    assert not re.search(r"https?://", result.stdout)  # it never said where to open it


def test_tls_files_that_do_not_fit_are_refused(state: Path,
                                               certificates: Certificates) -> None:
    result = subprocess.run([*imsh_argv(), "--state", str(state), "dashboard", "--tls-cert",
                             str(certificates.server.cert), "--tls-key",
                             str(certificates.client.key)], env=imsh_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "cannot use the TLS files" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_migrationdashboard_with_client_certificates_serves_https_without_a_token(
        state: Path, certificates: Certificates) -> None:
    """The cmdlet takes the same TLS files as ``imsh dashboard``: its Url is https and has no
    token (the CA's certificate admits), and a browser without one is refused."""
    import os
    import signal
    port = free_port()
    # the certificate relative to the session's location (Set-Location), not the process's
    line = (f"Set-Location '{certificates.server.cert.parent}'; "
            f"Start-MigrationDashboard -Listen 127.0.0.1:{port} "
            f"-TlsCertificateFile '{certificates.server.cert.name}' "
            f"-TlsKeyFile '{certificates.server.key}' -ClientCaFile '{certificates.ca.cert}' "
            "| Format-List Url,ProcessId")
    started = subprocess.run([*imsh_argv(), "--state", str(state), "-c", line], env=imsh_env(),
                             capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    url = re.search(r"Url\s+: (\S+)", started.stdout)
    pid = re.search(r"ProcessId\s+: (\d+)", started.stdout)
    assert url and pid, started.stdout
    try:
        assert url.group(1) == f"https://127.0.0.1:{port}/"
        status, _ = _get(port, _client(certificates, certificates.client), "/api/overview.json")
        assert status == 200
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            _get(port, _client(certificates, None), "/api/overview.json")
    finally:
        os.kill(int(pid.group(1)), signal.SIGTERM)


def test_start_migrationdashboard_refuses_a_key_without_its_certificate(state: Path,
        certificates: Certificates) -> None:
    line = f"Start-MigrationDashboard -TlsKeyFile '{certificates.server.key}'"
    result = subprocess.run([*imsh_argv(), "--state", str(state), "-c", line], env=imsh_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "-TlsCertificateFile and -TlsKeyFile go together" in result.stderr
    assert "Traceback" not in result.stderr
