"""An in-process channel for fast tests of code that delivers (the service layer), like httpx.MockTransport.

It keeps every message it accepted and can be told to fail its first ``fail`` sends, so retry and
dead-letter paths of callers are testable without sockets or sleeping.
"""

from __future__ import annotations

from huntwatch.delivery.channel import DeliveryError
from huntwatch.delivery.message import Message


class MemoryChannel:
    """Accepts messages into ``sent``; fails the first ``fail`` sends (``fail=-1``: always) with ``error``."""

    kind = "memory"

    def __init__(
        self, name: str = "memory", *, fail: int = 0, error: str = "simulated failure", retryable: bool = True
    ):
        self.name = name
        self.fail = fail
        self.error = error
        self.retryable = retryable
        self.calls = 0
        self.sent: list[Message] = []

    @property
    def target(self) -> str:
        return f"memory://{self.name}"

    def __repr__(self) -> str:
        return f"MemoryChannel(name={self.name!r}, fail={self.fail})"

    def send(self, message: Message) -> str:
        self.calls += 1
        if self.fail < 0 or self.calls <= self.fail:
            raise DeliveryError(self.error, retryable=self.retryable)
        self.sent.append(message)
        return f"kept message {len(self.sent)}"
