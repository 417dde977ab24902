"""CEF over syslog against real UDP and TCP listeners on 127.0.0.1, and CEF escaping with hostile text."""

from __future__ import annotations

import json
import re

import pytest

from huntwatch import __version__
from huntwatch.delivery import ChannelConfigError, DeliveryError, SyslogChannel, deliver, format_cef
from huntwatch.delivery.syslog import escape_extension, escape_header

HOSTILE = "cmd.exe /c echo a|b && set X=1 \\\\srv\\share\r\nInjected: CEF:0|Evil|x|y|z|w|10| <script>alert(1)</script>"
RECORD = re.compile(r"^<(\d+)>1 (\S+) (\S+) huntwatch - (\S+) - (CEF:0\|.*)$", re.S)


def test_udp_datagram_is_one_rfc5424_record_with_cef(udp_listener, message, parse_cef):
    channel = SyslogChannel("127.0.0.1", udp_listener.port, "udp", hostname="hw-1")
    assert channel.send(message).endswith("over udp")
    record = udp_listener.receive().decode()
    pri, stamp, host, msgid, cef = RECORD.match(record).groups()
    assert pri == str(16 * 8 + 3) and host == "hw-1" and msgid == "notification" and stamp.endswith("Z")
    header, ext = parse_cef(cef)
    assert header == ["CEF:0", "Huntwatch", "Huntwatch", __version__, "notification", message.subject, "8"]
    assert ext["externalId"] == "msg-0001" and ext["cs1"] == "acme" and ext["cat"] == "notification"
    assert ext["msg"] == message.text
    assert ext["cs2Label"] == "payload" and '"alert_id":"A-1"' in ext["cs2"]
    assert int(ext["rt"]) == int(message.created_at.timestamp() * 1000)


def test_tcp_octet_counting_framing(tcp_listener, message, parse_cef):
    channel = SyslogChannel("127.0.0.1", tcp_listener.port, "tcp")
    channel.send(message)
    data = tcp_listener.receive()
    length, _, record = data.partition(b" ")
    assert int(length) == len(record)
    assert parse_cef(record.decode())[1]["msg"] == message.text


def test_tcp_newline_framing_keeps_hostile_text_on_one_line(tcp_listener, make_message, parse_cef):
    channel = SyslogChannel("127.0.0.1", tcp_listener.port, "tcp", framing="newline")
    channel.send(make_message(subject=HOSTILE, text=HOSTILE, tenant="acme|x=y"))
    data = tcp_listener.receive()
    assert data.endswith(b"\n") and data.count(b"\n") == 1 and b"\r" not in data
    header, ext = parse_cef(data[:-1].decode())
    assert len(header) == 7 and header[6] == "8"
    assert header[5] == HOSTILE.replace("\r\n", " ")  # header fields cannot carry line breaks
    assert ext["msg"] == HOSTILE.replace("\r\n", "\n")
    assert ext["cs1"] == "acme|x=y"
    # The injected "CEF:0|Evil|..." and the fake key stay inside the values, never become fields.
    assert set(ext) == {"rt", "externalId", "cat", "cs1Label", "cs1", "cs2Label", "cs2", "msg"}


def test_udp_hostile_strings_round_trip(udp_listener, make_message, parse_cef):
    SyslogChannel("127.0.0.1", udp_listener.port).send(make_message(text=HOSTILE, payload={"cmd": HOSTILE}))
    _, ext = parse_cef(udp_listener.receive().decode())
    assert ext["msg"] == HOSTILE.replace("\r\n", "\n")
    assert json.loads(ext["cs2"]) == {"cmd": HOSTILE}  # JSON escapes, then CEF escapes: both undo exactly
    assert "<script>alert(1)</script>" in ext["msg"]  # CEF is not HTML; consumers escape on display


@pytest.mark.parametrize(
    ("raw", "header", "extension"),
    [
        ("a|b", "a\\|b", "a|b"),
        ("a=b", "a=b", "a\\=b"),
        ("a\\b", "a\\\\b", "a\\\\b"),
        ("l1\nl2", "l1 l2", "l1\\nl2"),
        ("l1\r\nl2", "l1 l2", "l1\\nl2"),
        ("l1\rl2", "l1 l2", "l1\\rl2"),
        ("\\|=", "\\\\\\|=", "\\\\|\\="),
        ("<script>", "<script>", "<script>"),
    ],
)
def test_cef_escaping_rules(raw, header, extension):
    assert escape_header(raw) == header
    assert escape_extension(raw) == extension


def test_oversized_records_drop_the_payload_then_cut_the_text(udp_listener, make_message, parse_cef):
    long_text = ("x=\\" * 3000) + "END"
    message = make_message(text=long_text, payload={"blob": "y" * 5000})
    channel = SyslogChannel("127.0.0.1", udp_listener.port, max_bytes=1024)
    channel.send(message)
    record = udp_listener.receive()
    assert len(record) <= 1024
    _, ext = parse_cef(record.decode())
    assert "cs2" not in ext
    assert ext["msg"].endswith("…") and long_text.startswith(ext["msg"][:-1])
    medium = make_message(text="short", payload={"blob": "y" * 5000})
    assert "cs2=" not in format_cef(medium, max_bytes=800) and "msg=short" in format_cef(medium, max_bytes=800)


def test_tcp_receiver_down_is_retryable(message, free_port):
    sleeps: list[float] = []
    result = deliver(
        SyslogChannel("127.0.0.1", free_port(), "tcp", timeout=2), message, attempts=2, sleep=sleeps.append
    )
    assert result.dead_letter and len(result.attempts) == 2 and sleeps == [1.0]
    assert "ConnectionRefusedError" in result.errors[0]
    with pytest.raises(DeliveryError):
        SyslogChannel("127.0.0.1", free_port(), "tcp", timeout=2).send(message)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"host": ""}, "host"),
        ({"port": 70000}, "port"),
        ({"protocol": "tls"}, "protocol"),
        ({"framing": "crlf"}, "framing"),
        ({"facility": 24}, "facility"),
        ({"max_bytes": 100}, "max_bytes"),
    ],
)
def test_constructor_names_the_bad_field(kwargs, field):
    with pytest.raises(ChannelConfigError) as info:
        SyslogChannel(**({"host": "siem.example", "port": 514} | kwargs))
    assert info.value.field == field
