"""Delivery: notification channels behind one interface (signed webhook, SMTP e-mail, CEF syslog), retries.

The service renders a :class:`Message`; :func:`deliver` sends it on a :class:`Channel` with retries and
returns every attempt for the delivery log. This package knows nothing about stories or alerts.
"""

from huntwatch.delivery.channel import MASK, Channel, ChannelConfigError, DeliveryError
from huntwatch.delivery.factory import (
    channel_from_settings,
    channel_kinds,
    config_schema,
    masked_settings,
    register_channel,
    secret_fields,
)
from huntwatch.delivery.memory import MemoryChannel
from huntwatch.delivery.message import KINDS, SEVERITIES, Message
from huntwatch.delivery.retry import Backoff, DeliveryAttempt, DeliveryResult, attempt, deliver
from huntwatch.delivery.smtp import EmailChannel
from huntwatch.delivery.syslog import SyslogChannel, format_cef
from huntwatch.delivery.webhook import WebhookChannel, sign, verify_signature

__all__ = [
    "KINDS",
    "MASK",
    "SEVERITIES",
    "Backoff",
    "Channel",
    "ChannelConfigError",
    "DeliveryAttempt",
    "DeliveryError",
    "DeliveryResult",
    "EmailChannel",
    "MemoryChannel",
    "Message",
    "SyslogChannel",
    "WebhookChannel",
    "attempt",
    "channel_from_settings",
    "channel_kinds",
    "config_schema",
    "deliver",
    "format_cef",
    "masked_settings",
    "register_channel",
    "secret_fields",
    "sign",
    "verify_signature",
]
