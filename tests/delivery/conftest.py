"""Real receivers on 127.0.0.1 for the delivery tests: HTTP, SMTP (aiosmtpd), UDP and TCP syslog."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from huntwatch.delivery import Message, verify_signature

SECRET = "whsec-0123456789abcdef-not-for-logs"


def make_message(**overrides: Any) -> Message:
    values: dict[str, Any] = {
        "subject": "Hands-on-keyboard activity on WS-042",
        "severity": "high",
        "text": "An attacker ran tools on WS-042.\nScope: 1 device, 2 accounts.",
        "html": "<p>An attacker ran tools on <b>WS-042</b>.</p>",
        "payload": {"alert_id": "A-1", "devices": ["WS-042"], "score": 0.93},
        "tenant": "acme",
        "kind": "notification",
        "id": "msg-0001",
    }
    values.update(overrides)
    return Message(**values)


@pytest.fixture
def message() -> Message:
    return make_message()


@pytest.fixture(name="make_message")
def make_message_fixture() -> Any:
    return make_message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class WebhookReceiver:
    """Verifies each request's signature and answers with the scripted statuses (the last one repeats)."""

    url: str
    statuses: list[int]
    secret: str = SECRET
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def reply(self) -> int:
        return self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_port}/hooks/huntwatch", statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            valid = verify_signature(
                receiver.secret,
                self.headers.get("X-Huntwatch-Timestamp", ""),
                body,
                self.headers.get("X-Huntwatch-Signature", ""),
            )
            receiver.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "json": json.loads(body),
                    "valid": valid,
                }
            )
            status = receiver.reply() if valid else 401
            self.send_response(status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class SmtpReceiver:
    host: str
    port: int
    envelopes: list[Any] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in receiver.refuse:
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            receiver.envelopes.append(envelope)
            return "250 Message accepted"

    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            receiver.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            # handled=False: aiosmtpd then answers a failure with 535 itself instead of staying silent.
            return AuthResult(success=auth_data.password == b"smtp-pass-s3cret", handled=False)
        return AuthResult(success=False, handled=False)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=receiver.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield receiver
    controller.stop()


class UdpListener:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]

    def receive(self) -> bytes:
        return self.sock.recvfrom(70_000)[0]


@pytest.fixture
def udp_listener() -> Iterator[UdpListener]:
    listener = UdpListener()
    yield listener
    listener.sock.close()


class TcpListener:
    """Accepts connections and keeps each connection's bytes (the channel closes after each message)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.streams: list[bytes] = []

    def receive(self) -> bytes:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            chunks = []
            while chunk := conn.recv(65_536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture
def tcp_listener() -> Iterator[TcpListener]:
    listener = TcpListener()
    yield listener
    listener.sock.close()


@pytest.fixture(name="free_port")
def free_port_fixture() -> Any:
    return free_port


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture(name="parse_cef")
def parse_cef_fixture() -> Any:
    return parse_cef


_UNESCAPE = re.compile(r"\\(.)", re.S)


def _unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """A receiver's reading of a CEF line: seven header fields and the extension, unescaped."""
    start = line.index("CEF:")
    header: list[str] = []
    current, i = "", start
    while len(header) < 7:
        char = line[i]
        if char == "\\":
            current += line[i : i + 2]
            i += 2
            continue
        if char == "|":
            header.append(_unescape(current))
            current = ""
        else:
            current += char
        i += 1
    extension = line[i:]
    fields = {m.group(1): _unescape(m.group(2)) for m in re.finditer(r"(\w+)=(.*?)(?= \w+=|$)", extension, re.S)}
    return header, fields
