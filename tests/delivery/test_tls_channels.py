"""TLS paths against real servers: SMTP STARTTLS (aiosmtpd) and an HTTPS webhook, with a private CA file."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from huntwatch.delivery import DeliveryError, EmailChannel, WebhookChannel, deliver, verify_signature


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 that doubles as its own CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "huntwatch-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_server(certificate, free_port):
    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((session.authenticated, envelope))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"tls-pass"
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=authenticate,  # auth only after STARTTLS (aiosmtpd's default)
    )
    controller.start()
    yield port, received
    controller.stop()


def test_starttls_with_private_ca_then_login(starttls_server, certificate, message):
    port, received = starttls_server
    channel = EmailChannel(
        "127.0.0.1", port, "a@h.example", ["soc@acme.example"], "hunt", "tls-pass", True, ca_file=certificate[0]
    )
    assert channel.send(message) == "accepted for 1 of 1 recipients"
    [(authenticated, envelope)] = received
    assert authenticated and b"Hands-on-keyboard" in envelope.original_content


def test_starttls_with_an_untrusted_certificate_is_permanent(starttls_server, message):
    port, received = starttls_server
    channel = EmailChannel("127.0.0.1", port, "a@h.example", ["soc@acme.example"], starttls=True)
    result = deliver(channel, message, attempts=3, sleep=lambda _: None)
    assert result.dead_letter and len(result.attempts) == 1
    assert result.errors[0].startswith("TLS certificate not trusted")
    assert received == []


def test_server_requiring_starttls_refuses_plain_mail(starttls_server, message):
    port, received = starttls_server
    with pytest.raises(DeliveryError) as info:
        EmailChannel("127.0.0.1", port, "a@h.example", ["soc@acme.example"]).send(message)
    assert "530" in str(info.value) and not info.value.retryable and received == []


@pytest.fixture
def https_receiver(certificate, secret):
    seen: list[bool] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(
                verify_signature(
                    secret, self.headers["X-Huntwatch-Timestamp"], body, self.headers["X-Huntwatch-Signature"]
                )
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = _server_context(certificate).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_https_webhook_with_private_ca(https_receiver, certificate, secret, message):
    url, seen = https_receiver
    assert WebhookChannel(url, secret, ca_file=certificate[0]).send(message) == "HTTP 204"
    assert seen == [True]


def test_https_webhook_untrusted_certificate_is_permanent(https_receiver, secret, message):
    url, seen = https_receiver
    with pytest.raises(DeliveryError) as info:
        WebhookChannel(url, secret, timeout=3).send(message)
    assert not info.value.retryable and "certificate" in str(info.value) and seen == []


def test_missing_ca_file_is_a_permanent_error(message, tmp_path):
    channel = WebhookChannel("https://127.0.0.1:9/hook", "s3cret", ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(DeliveryError) as info:
        channel.send(message)
    assert not info.value.retryable and str(info.value).startswith("ca_file:")
