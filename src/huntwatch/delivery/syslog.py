"""Syslog in ArcSight CEF, the format most SIEMs parse without a custom parser.

Each message is one RFC 5424 syslog record whose MSG is a CEF:0 line::

    <131>1 2026-11-27T10:00:00.000Z host huntwatch - notification - CEF:0|Huntwatch|Huntwatch|0.1.0|...
    ...notification|Subject|8|rt=1795600800000 externalId=... cat=notification cs1Label=tenant cs1=acme msg=...

CEF header fields escape ``\\`` and ``|`` with a backslash; extension values escape ``\\`` and ``=``, and
carry line breaks as the two characters ``\\n`` / ``\\r``, so a record is always one physical line
whatever the telemetry-derived text contains. Extension keys used: ``rt`` (message time, epoch ms),
``externalId`` (message id), ``cat`` (kind), ``cs1`` tenant, ``cs2`` the JSON payload (dropped first when
the record would exceed ``max_bytes``), ``msg`` the plain text (then truncated).

Transport: UDP sends one record per datagram. TCP (RFC 6587) opens a connection per message and frames
with octet counting (``<length> <record>``, the default, safe for any content) or, for receivers that
only understand it, a trailing newline (``framing="newline"``, safe here because records never contain one).
"""

from __future__ import annotations

import datetime as dt
import socket

import orjson

from huntwatch import __version__
from huntwatch.delivery.channel import ChannelConfigError, DeliveryError
from huntwatch.delivery.message import Message

CEF_SEVERITY = {"informational": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
SYSLOG_SEVERITY = {"informational": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}
PROTOCOLS = ("udp", "tcp")
FRAMINGS = ("octet-counting", "newline")
UDP_MAX_BYTES = 65_507  # the largest IPv4 UDP payload
ELLIPSIS = "…"


def escape_header(value: str) -> str:
    """Escape a CEF header field: backslash and pipe; line breaks are not allowed there, so fold them."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(value.splitlines()) if ("\n" in value or "\r" in value) else value


def escape_extension(value: str) -> str:
    """Escape a CEF extension value: backslash, equals sign and line breaks."""
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def format_cef(message: Message, *, max_bytes: int | None = None) -> str:
    """The CEF:0 line for ``message``; within ``max_bytes`` (UTF-8) when given, by dropping detail."""
    header = "|".join(
        [
            "CEF:0",
            "Huntwatch",
            "Huntwatch",
            escape_header(__version__),
            escape_header(message.kind),
            escape_header(message.subject),
            str(CEF_SEVERITY[message.severity]),
        ]
    )
    fixed = [
        ("rt", str(int(message.created_at.timestamp() * 1000))),
        ("externalId", message.id),
        ("cat", message.kind),
        ("cs1Label", "tenant"),
        ("cs1", message.tenant),
    ]
    payload = orjson.dumps(message.payload, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()

    def line(extra: list[tuple[str, str]], escaped_text: str) -> str:
        pairs = [f"{key}={escape_extension(value)}" for key, value in [*fixed, *extra]]
        return header + "|" + " ".join([*pairs, f"msg={escaped_text}"])

    text = escape_extension(message.text)
    full = line([("cs2Label", "payload"), ("cs2", payload)], text)
    if max_bytes is None or len(full.encode()) <= max_bytes:
        return full
    room = max_bytes - len(line([], "").encode())
    if len(text.encode()) <= room:
        return line([], text)
    cut = text.encode()[: max(room - len(ELLIPSIS.encode()), 0)].decode(errors="ignore")
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]  # never leave half an escape sequence at the cut
    return line([], cut + ELLIPSIS if cut else "")


class SyslogChannel:
    """Sends each message as one CEF syslog record over UDP or TCP."""

    kind = "syslog"

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "udp",
        *,
        framing: str = "octet-counting",
        facility: int = 16,
        hostname: str | None = None,
        max_bytes: int = 8192,
        timeout: float = 10.0,
    ) -> None:
        if not host:
            raise ChannelConfigError("host", "must name the syslog receiver")
        if not 0 < port < 65536:
            raise ChannelConfigError("port", "must be between 1 and 65535")
        if protocol not in PROTOCOLS:
            raise ChannelConfigError("protocol", f"must be one of {', '.join(PROTOCOLS)}")
        if framing not in FRAMINGS:
            raise ChannelConfigError("framing", f"must be one of {', '.join(FRAMINGS)}")
        if not 0 <= facility <= 23:
            raise ChannelConfigError("facility", "must be a syslog facility number 0-23 (16 = local0)")
        if not 480 <= max_bytes <= UDP_MAX_BYTES:
            raise ChannelConfigError("max_bytes", f"must be between 480 and {UDP_MAX_BYTES}")
        self.host = host
        self.port = port
        self.protocol = protocol
        self.framing = framing
        self.facility = facility
        self.hostname = hostname or socket.gethostname() or "-"
        self.max_bytes = max_bytes
        self.timeout = timeout

    @property
    def target(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SyslogChannel(host={self.host!r}, port={self.port}, protocol={self.protocol!r})"

    def record(self, message: Message) -> bytes:
        """The RFC 5424 record (without transport framing) carrying the CEF line."""
        pri = self.facility * 8 + SYSLOG_SEVERITY[message.severity]
        stamp = message.created_at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        hostname = "".join(c for c in self.hostname if 33 <= ord(c) <= 126)[:255] or "-"
        prefix = f"<{pri}>1 {stamp} {hostname} huntwatch - {message.kind} - "
        budget = self.max_bytes - len(prefix.encode())
        return (prefix + format_cef(message, max_bytes=budget)).encode()

    def send(self, message: Message) -> str:
        record = self.record(message)
        try:
            if self.protocol == "udp":
                family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
                with socket.socket(family, kind, proto) as sock:
                    sock.settimeout(self.timeout)
                    sock.sendto(record, address)
            else:
                framed = f"{len(record)} ".encode() + record if self.framing == "octet-counting" else record + b"\n"
                with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                    sock.sendall(framed)
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        return f"sent {len(record)} bytes over {self.protocol}"
