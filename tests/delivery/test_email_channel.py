"""E-mail against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import logging

import pytest

from huntwatch.delivery import ChannelConfigError, DeliveryError, EmailChannel, deliver


def _received(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_multipart_text_and_html_reach_every_recipient(smtp_receiver, message):
    channel = EmailChannel(
        smtp_receiver.host,
        smtp_receiver.port,
        "Huntwatch <alerts@huntwatch.example>",
        ["soc@acme.example", "ciso@acme.example"],
    )
    receipt = channel.send(message)
    assert receipt == "accepted for 2 of 2 recipients"
    [envelope] = smtp_receiver.envelopes
    assert envelope.mail_from == "alerts@huntwatch.example"
    assert envelope.rcpt_tos == ["soc@acme.example", "ciso@acme.example"]
    mail = _received(envelope)
    assert mail["Subject"] == "[Huntwatch] [HIGH] Hands-on-keyboard activity on WS-042"
    assert mail["Message-ID"] == "<msg-0001@huntwatch.example>"
    assert mail["X-Huntwatch-Kind"] == "notification" and mail["X-Huntwatch-Tenant"] == "acme"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert text.replace("\r\n", "\n").strip() == message.text
    assert html.strip() == message.html


def test_login_with_username_and_password(smtp_receiver, message):
    channel = EmailChannel(
        smtp_receiver.host, smtp_receiver.port, "alerts@h.example", ["soc@acme.example"], "hunt", "smtp-pass-s3cret"
    )
    channel.send(message)
    assert smtp_receiver.logins == [("hunt", "smtp-pass-s3cret")]
    assert len(smtp_receiver.envelopes) == 1


def test_bad_password_is_permanent_and_never_shown(smtp_receiver, message, caplog):
    channel = EmailChannel(
        smtp_receiver.host, smtp_receiver.port, "alerts@h.example", ["soc@acme.example"], "hunt", "wrong-pass-XYZ"
    )
    with caplog.at_level(logging.DEBUG, logger="huntwatch.delivery"):
        result = deliver(channel, message, attempts=3, sleep=lambda _: None)
    assert result.dead_letter and len(result.attempts) == 1
    assert result.errors[0].startswith("SMTP 535")
    assert "wrong-pass-XYZ" not in repr(channel) + caplog.text + result.errors[0]
    assert "password='***'" in repr(channel)


def test_refused_recipients(smtp_receiver, message):
    smtp_receiver.refuse = {"gone@acme.example"}
    partial = EmailChannel(
        smtp_receiver.host, smtp_receiver.port, "a@h.example", ["soc@acme.example", "gone@acme.example"]
    )
    assert partial.send(message) == "accepted for 1 of 2 recipients; refused: gone@acme.example"
    everyone = EmailChannel(smtp_receiver.host, smtp_receiver.port, "a@h.example", ["gone@acme.example"])
    with pytest.raises(DeliveryError) as info:
        everyone.send(message)
    assert info.value.retryable is False and "all recipients refused" in str(info.value)


def test_header_injection_through_the_subject_is_folded(smtp_receiver, make_message):
    channel = EmailChannel(smtp_receiver.host, smtp_receiver.port, "a@h.example", ["soc@acme.example"])
    channel.send(make_message(subject="Alert\r\nBcc: attacker@evil.example\n<script>x</script>"))
    mail = _received(smtp_receiver.envelopes[0])
    assert mail["Bcc"] is None
    # The stdlib may fold before the first word; the unfolded value then keeps that space.
    assert mail["Subject"].strip() == "[Huntwatch] [HIGH] Alert Bcc: attacker@evil.example <script>x</script>"
    assert smtp_receiver.envelopes[0].rcpt_tos == ["soc@acme.example"]


def test_text_only_when_no_html(smtp_receiver, make_message):
    EmailChannel(smtp_receiver.host, smtp_receiver.port, "a@h.example", ["soc@acme.example"]).send(
        make_message(html="")
    )
    assert _received(smtp_receiver.envelopes[0]).get_content_type() == "text/plain"


def test_server_down_is_retryable(message, free_port):
    channel = EmailChannel("127.0.0.1", free_port(), "a@h.example", ["soc@acme.example"], timeout=2)
    with pytest.raises(DeliveryError) as info:
        channel.send(message)
    assert info.value.retryable


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"sender": "not an address"}, "sender"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["ok@a.example", "x@y\r\nBcc: z@w"]}, "recipients"),
        ({"password": "p"}, "username"),
    ],
)
def test_constructor_names_the_bad_field(kwargs, field):
    settings = {"host": "mail.example", "port": 25, "sender": "a@h.example", "recipients": ["b@c.example"]} | kwargs
    with pytest.raises(ChannelConfigError) as info:
        EmailChannel(**settings)
    assert info.value.field == field
