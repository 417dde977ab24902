"""Signed webhooks against a real HTTP receiver on 127.0.0.1 that verifies every signature."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from huntwatch.delivery import Backoff, ChannelConfigError, DeliveryError, WebhookChannel, deliver, sign
from huntwatch.delivery import verify_signature as verify
from huntwatch.delivery.webhook import render_body

SECRET = "whsec-0123456789abcdef-not-for-logs"  # the receiver fixture's secret


def test_signed_post_is_verified_and_carries_the_message(webhook_receiver, message):
    channel = WebhookChannel(webhook_receiver.url, SECRET)
    assert channel.send(message) == "HTTP 200"
    [request] = webhook_receiver.requests
    assert request["valid"] is True
    assert request["path"] == "/hooks/huntwatch"
    assert request["headers"]["Idempotency-Key"] == "msg-0001"
    assert request["headers"]["X-Huntwatch-Event"] == "notification"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["json"]
    assert body["id"] == "msg-0001" and body["tenant"] == "acme" and body["severity"] == "high"
    assert body["data"] == {"alert_id": "A-1", "devices": ["WS-042"], "score": 0.93}
    assert body["created_at"].endswith("Z")


def test_retry_after_a_500_then_delivered(webhook_receiver, message):
    webhook_receiver.statuses = [500, 200]
    sleeps: list[float] = []
    result = deliver(WebhookChannel(webhook_receiver.url, SECRET), message, attempts=4, sleep=sleeps.append)
    assert result.delivered and not result.dead_letter
    assert [a.status for a in result.attempts] == ["failed", "delivered"]
    assert result.attempts[0].error.startswith("HTTP 500")
    assert result.attempts[1].receipt == "HTTP 200"
    assert sleeps == [1.0]
    assert len(webhook_receiver.requests) == 2
    assert all(r["valid"] for r in webhook_receiver.requests)
    # Same idempotency key on the retry, so the receiver can drop a duplicate.
    assert {r["headers"]["Idempotency-Key"] for r in webhook_receiver.requests} == {"msg-0001"}


def test_always_500_dead_letters_after_n_tries_with_every_error(webhook_receiver, message):
    webhook_receiver.statuses = [500]
    webhook_receiver.body = b"upstream broken"
    sleeps: list[float] = []
    result = deliver(
        WebhookChannel(webhook_receiver.url, SECRET),
        message,
        attempts=4,
        backoff=Backoff(initial=0.5, factor=3),
        sleep=sleeps.append,
    )
    assert result.dead_letter and not result.delivered
    assert len(result.attempts) == 4 == len(webhook_receiver.requests)
    assert [a.number for a in result.attempts] == [1, 2, 3, 4]
    assert result.errors == ["HTTP 500 Internal Server Error: upstream broken"] * 4
    assert sleeps == [0.5, 1.5, 4.5]
    first = result.attempts[0]
    assert first.channel == "webhook" and first.target == webhook_receiver.url and first.message_id == "msg-0001"
    assert first.at.tzinfo is not None and first.duration_ms > 0


def test_client_error_is_not_retried(webhook_receiver, message):
    webhook_receiver.statuses = [410]
    sleeps: list[float] = []
    result = deliver(WebhookChannel(webhook_receiver.url, SECRET), message, attempts=5, sleep=sleeps.append)
    assert result.dead_letter and len(result.attempts) == 1 and sleeps == []
    assert result.attempts[0].retryable is False


def test_retry_after_from_receiver_is_honoured(webhook_receiver, message):
    webhook_receiver.statuses = [429, 200]
    webhook_receiver.headers = {"Retry-After": "7"}
    sleeps: list[float] = []
    result = deliver(WebhookChannel(webhook_receiver.url, SECRET), message, attempts=3, sleep=sleeps.append)
    assert result.delivered and sleeps == [7.0]


def test_wrong_secret_is_refused_by_the_receiver(webhook_receiver, message):
    result = deliver(WebhookChannel(webhook_receiver.url, "another-secret-value"), message, attempts=1)
    assert result.dead_letter and result.errors == ["HTTP 401 Unauthorized"]
    assert webhook_receiver.requests[0]["valid"] is False


def test_unreachable_receiver_is_a_retryable_failure(message, free_port):
    channel = WebhookChannel(f"http://127.0.0.1:{free_port()}/x", SECRET, timeout=2)
    with pytest.raises(DeliveryError) as info:
        channel.send(message)
    assert info.value.retryable and "ConnectError" in str(info.value)


def test_hostile_strings_survive_json(webhook_receiver, make_message):
    hostile = 'a|b=c\\d\n"</script><script>alert(1)</script>'
    channel = WebhookChannel(webhook_receiver.url, SECRET)
    channel.send(make_message(subject=hostile, text=hostile, payload={"cmd": hostile}))
    body = webhook_receiver.requests[0]["json"]
    assert body["subject"] == body["text"] == body["data"]["cmd"] == hostile
    assert webhook_receiver.requests[0]["valid"]


def test_secret_never_in_repr_errors_or_logs(webhook_receiver, message, caplog):
    url = webhook_receiver.url + "?token=" + SECRET
    channel = WebhookChannel(url, SECRET)
    webhook_receiver.statuses = [500]
    webhook_receiver.body = f"bad token {SECRET}".encode()  # a receiver that echoes what it got
    with caplog.at_level(logging.DEBUG, logger="huntwatch.delivery"):
        result = deliver(channel, message, attempts=2, sleep=lambda _: None)
    assert SECRET not in repr(channel) and SECRET not in channel.target
    assert channel.target.endswith("/hooks/huntwatch?token=***")
    assert all(SECRET not in (a.error or "") + a.target for a in result.attempts)
    assert caplog.records and SECRET not in caplog.text


def test_verify_signature_rejects_tampering_replays_and_garbage(message):
    body = render_body(message)
    now = 1_800_000_000
    header = sign(SECRET, now, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(SECRET, str(now), body, header, now=now + 10)
    assert verify(SECRET, now, body.decode(), header, now=now)
    assert not verify(SECRET, now, body + b" ", header, now=now)  # body changed
    assert not verify("other-secret", now, body, header, now=now)  # wrong key
    assert not verify(SECRET, now + 1, body, header, now=now)  # timestamp changed
    assert not verify(SECRET, now, body, header, now=now + 301)  # replayed later
    assert not verify(SECRET, "yesterday", body, header, now=now)
    assert not verify(SECRET, now, body, "", now=now)
    assert verify(SECRET, int(time.time()), body, sign(SECRET, int(time.time()), body))


def test_mock_transport_seam_makes_in_process_tests_possible(message):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    channel = WebhookChannel("https://siem.example/hook", SECRET, transport=httpx.MockTransport(handler))
    with pytest.raises(DeliveryError) as info:
        channel.send(message)
    assert info.value.retryable and info.value.retry_after == 0.0
    request = seen[0]
    assert verify(
        SECRET, request.headers["X-Huntwatch-Timestamp"], request.content, request.headers["X-Huntwatch-Signature"]
    )


@pytest.mark.parametrize(
    ("url", "secret", "field"),
    [("ftp://x/y", SECRET, "url"), ("http:///nohost", SECRET, "url"), ("https://ok.example/", "", "secret")],
)
def test_constructor_names_the_bad_field(url, secret, field):
    with pytest.raises(ChannelConfigError) as info:
        WebhookChannel(url, secret)
    assert info.value.field == field
