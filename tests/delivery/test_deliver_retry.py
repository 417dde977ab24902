"""Retries, backoff and dead-lettering, in process (MemoryChannel), with no real sleeping."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from huntwatch.delivery import Backoff, Channel, DeliveryError, MemoryChannel, Message, attempt, deliver


def test_fails_twice_then_delivers_with_exponential_waits(message):
    channel = MemoryChannel(fail=2)
    sleeps: list[float] = []
    result = deliver(channel, message, attempts=5, sleep=sleeps.append)
    assert result.delivered and not result.dead_letter
    assert sleeps == [1.0, 2.0]
    assert [a.status for a in result.attempts] == ["failed", "failed", "delivered"]
    assert result.errors == ["simulated failure", "simulated failure"]
    assert channel.sent == [message]


def test_dead_letter_after_n_tries_keeps_each_error(message):
    sleeps: list[float] = []
    result = deliver(
        MemoryChannel(fail=-1), message, attempts=4, backoff=Backoff(initial=2, maximum=5), sleep=sleeps.append
    )
    assert result.dead_letter and len(result.attempts) == 4
    assert sleeps == [2.0, 4.0, 5.0]
    assert all(a.status == "failed" and a.error == "simulated failure" for a in result.attempts)
    assert all(a.message_id == message.id and a.channel == "memory" for a in result.attempts)


def test_permanent_failure_stops_at_once(message):
    sleeps: list[float] = []
    result = deliver(MemoryChannel(fail=-1, retryable=False), message, attempts=5, sleep=sleeps.append)
    assert result.dead_letter and len(result.attempts) == 1 and sleeps == []


def test_unexpected_exception_in_a_channel_is_recorded_not_retried(message):
    class Broken:
        kind = "broken"
        target = "nowhere"

        def send(self, message: Message) -> str:
            raise KeyError("bug")

    assert isinstance(Broken(), Channel)
    result = deliver(Broken(), message, attempts=3, sleep=lambda _: None)
    assert result.dead_letter and result.errors == ["KeyError: 'bug'"]


def test_receiver_hint_lengthens_the_wait_but_is_capped(message):
    class Busy:
        kind = "busy"
        target = "busy://"
        calls = 0

        def send(self, message: Message) -> str:
            self.calls += 1
            if self.calls == 1:
                raise DeliveryError("slow down", retry_after=30)
            if self.calls == 2:
                raise DeliveryError("slow down a lot", retry_after=10_000)
            return "ok"

    sleeps: list[float] = []
    result = deliver(Busy(), message, attempts=3, backoff=Backoff(maximum=60), sleep=sleeps.append)
    assert result.delivered and sleeps == [30.0, 60.0]


def test_attempt_is_one_try_for_services_that_schedule_their_own_retries(message):
    record = attempt(MemoryChannel(), message, number=3)
    assert record.status == "delivered" and record.number == 3 and record.receipt == "kept message 1"
    assert record.at <= dt.datetime.now(dt.UTC)
    row = dataclasses.asdict(record)  # plain data the service layer can persist as-is
    assert set(row) >= {"message_id", "at", "channel", "target", "status", "error"}


def test_backoff_shape_and_jitter_bounds():
    backoff = Backoff(initial=1, factor=2, maximum=10)
    assert [backoff(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]
    jittery = Backoff(initial=4, factor=1, maximum=100, jitter=0.25)
    assert all(3 <= jittery(1) <= 5 for _ in range(200))
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


def test_attempts_must_be_positive(message):
    with pytest.raises(ValueError):
        deliver(MemoryChannel(), message, attempts=0)


def test_message_validation(make_message):
    with pytest.raises(ValueError, match="severity"):
        make_message(severity="urgent")
    with pytest.raises(ValueError, match="kind"):
        make_message(kind="story")
    with pytest.raises(ValueError, match="tenant"):
        make_message(tenant="")
    with pytest.raises(ValueError, match="timezone"):
        make_message(created_at=dt.datetime(2026, 1, 1))
    first, second = make_message(id="x1"), Message("s", "low", "t", "", {}, "acme")
    assert first.id == "x1" and len(second.id) == 32 and second.kind == "notification"
