"""Delivery with retries: exponential backoff, a record of every attempt, dead-letter after the last one.

Nothing here persists anything: ``deliver`` returns the attempts and the service layer writes them to the
delivery log the tenant admin sees.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from huntwatch.delivery.channel import Channel, DeliveryError
from huntwatch.delivery.message import Message

log = logging.getLogger("huntwatch.delivery")

DELIVERED = "delivered"
FAILED = "failed"
MAX_RETRY_AFTER = 300.0  # a receiver's Retry-After never holds a worker longer than this


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``n`` (1-based): ``initial * factor**(n-1)``, capped at ``maximum``.

    ``jitter`` spreads retries of many tenants' messages to one receiver: the delay is multiplied by a
    random factor in ``[1 - jitter, 1 + jitter]`` (then capped again).
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.factor < 1 or self.maximum < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs initial >= 0, factor >= 1, maximum >= 0 and 0 <= jitter <= 1")

    def __call__(self, retry: int) -> float:
        delay = min(self.initial * self.factor ** (retry - 1), self.maximum)
        if self.jitter:
            delay *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return min(delay, self.maximum)


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try of one message on one channel: the row the service stores in the delivery log."""

    message_id: str
    number: int
    at: dt.datetime
    channel: str  # the channel's kind
    target: str  # the channel's target, free of secrets
    status: str  # "delivered" | "failed"
    error: str | None = None
    receipt: str | None = None
    duration_ms: float = 0.0
    retryable: bool = True
    retry_after: float | None = None  # the receiver's own hint, in seconds


@dataclass(frozen=True)
class DeliveryResult:
    """All attempts for a message; ``dead_letter`` is true when it was given up (no more tries will help)."""

    message_id: str
    channel: str
    target: str
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == DELIVERED

    @property
    def dead_letter(self) -> bool:
        return not self.delivered

    @property
    def errors(self) -> list[str]:
        return [a.error for a in self.attempts if a.error]


def attempt(channel: Channel, message: Message, number: int = 1) -> DeliveryAttempt:
    """Try once and record the outcome; for a service that schedules its own retries instead of sleeping."""
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    receipt: str | None = None
    error: str | None = None
    retryable = True
    retry_after: float | None = None
    try:
        receipt = channel.send(message)
    except DeliveryError as exc:
        error, retryable, retry_after = str(exc), exc.retryable, exc.retry_after
    except Exception as exc:
        # A bug in a (possibly third-party) channel: record it and do not hammer the receiver with retries.
        log.exception("channel %r raised an unexpected error", channel)
        error, retryable = f"{type(exc).__name__}: {exc}", False
    return DeliveryAttempt(
        message_id=message.id,
        number=number,
        at=started,
        channel=channel.kind,
        target=channel.target,
        status=FAILED if error is not None else DELIVERED,
        error=error,
        receipt=receipt,
        duration_ms=round((time.perf_counter() - clock) * 1000, 3),
        retryable=retryable,
        retry_after=retry_after,
    )


def deliver(
    channel: Channel,
    message: Message,
    *,
    attempts: int = 5,
    backoff: Callable[[int], float] = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send ``message`` on ``channel``, retrying retryable failures up to ``attempts`` tries in all.

    Waits ``backoff(n)`` seconds before retry ``n`` (or longer when the receiver asked, e.g. HTTP
    ``Retry-After``). ``sleep`` is injectable so tests and an async worker need not block.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    result = DeliveryResult(message_id=message.id, channel=channel.kind, target=channel.target)
    for number in range(1, attempts + 1):
        if number > 1:
            delay = backoff(number - 1)
            hint = result.attempts[-1].retry_after
            if hint is not None:
                delay = max(delay, min(hint, getattr(backoff, "maximum", MAX_RETRY_AFTER)))
            sleep(delay)
        outcome = attempt(channel, message, number)
        result.attempts.append(outcome)
        if outcome.status == DELIVERED:
            log.info("delivered %s %s via %r (try %d)", message.kind, message.id, channel, number)
            return result
        log.warning(
            "delivery of %s via %r failed (try %d/%d): %s", message.id, channel, number, attempts, outcome.error
        )
        if not outcome.retryable:
            break
    log.error("dead-lettered %s %s via %r after %d tries", message.kind, message.id, channel, len(result.attempts))
    return result
