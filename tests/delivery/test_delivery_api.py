"""The package's public surface, its contract documentation and its floor (it imports nothing above it)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import huntwatch.delivery as delivery
from huntwatch.delivery import Channel, EmailChannel, MemoryChannel, SyslogChannel, WebhookChannel

PACKAGE = Path(delivery.__file__).parent


def test_public_names_are_exactly_the_intended_ones():
    assert sorted(delivery.__all__) == sorted(
        [
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
    )
    for name in delivery.__all__:
        obj = getattr(delivery, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_every_builtin_channel_keeps_the_contract():
    channels = [
        WebhookChannel("https://x.example/h", "s3cret-value"),
        EmailChannel("mail.example", 25, "a@b.example", ["c@d.example"], "u", "s3cret-value"),
        SyslogChannel("siem.example", 514),
        MemoryChannel(),
    ]
    for channel in channels:
        assert isinstance(channel, Channel)
        assert channel.kind and channel.target
        assert "s3cret-value" not in repr(channel) + channel.target
    for word in ("kind", "target", "send", "DeliveryError", "retryable", "repr"):
        assert word in (PACKAGE / "channel.py").read_text().split('"""')[1], f"contract does not document {word}"


def test_delivery_imports_nothing_above_floor_zero():
    allowed = {"huntwatch", "huntwatch.config"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("huntwatch"):
                    assert name in allowed or name.startswith("huntwatch.delivery"), f"{path.name} imports {name}"
