"""The channel contract: the one interface the service calls and a provider implements to add a receiver.

A channel is any object with

``kind: str``
    A short stable name (``"webhook"``, ``"email"``, ``"syslog"``) recorded in the delivery log.
``target: str``
    Where messages go, for the delivery log and the settings page. It must never contain a secret.
``send(message: Message) -> str``
    Deliver one message once, synchronously, and return a short receipt for the log (``"HTTP 200"``).
    On failure raise :class:`DeliveryError`; set ``retryable=False`` when trying again cannot help (a
    rejected recipient, HTTP 400), so :func:`huntwatch.delivery.deliver` dead-letters at once.
    Never retry inside ``send``: retries, backoff and the attempt log belong to ``deliver``.

A channel's ``repr`` must mask its secrets, because channels end up in logs and tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from huntwatch.delivery.message import Message

MASK = "***"


@runtime_checkable
class Channel(Protocol):
    """A receiver of messages; see the module docstring for the contract."""

    kind: str

    @property
    def target(self) -> str: ...

    def send(self, message: Message) -> str: ...


class DeliveryError(Exception):
    """One attempt failed; ``retryable`` says whether another attempt may succeed.

    ``retry_after`` (seconds) is the receiver's own hint, e.g. HTTP ``Retry-After``; ``deliver`` waits at
    least that long (within its maximum delay) before the next attempt.
    """

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ChannelConfigError(ValueError):
    """Channel settings are invalid; ``field`` names the offending setting so a form can point at it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Mask every secret that a library may have echoed into an error text before we log or store it."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
