"""Channels from stored settings: every kind builds, every mistake names its field, secrets stay hidden."""

from __future__ import annotations

import pytest

from huntwatch.delivery import (
    ChannelConfigError,
    EmailChannel,
    MemoryChannel,
    SyslogChannel,
    WebhookChannel,
    channel_from_settings,
    channel_kinds,
    config_schema,
    masked_settings,
    register_channel,
    secret_fields,
)

SECRET = "a-webhook-secret-of-some-length"
GOOD = {
    "webhook": {"url": "https://soar.acme.example/hooks/hw", "secret": SECRET, "timeout": 5},
    "email": {
        "host": "smtp.acme.example",
        "port": 587,
        "sender": "huntwatch@acme.example",
        "recipients": ["soc@acme.example"],
        "username": "hw",
        "password": "smtp-secret",
        "starttls": True,
    },
    "syslog": {"host": "siem.acme.example", "port": 6514, "protocol": "tcp", "framing": "newline"},
}


def test_every_kind_builds_from_valid_settings():
    assert channel_kinds() == ["email", "syslog", "webhook"]
    assert isinstance(channel_from_settings("webhook", GOOD["webhook"]), WebhookChannel)
    email = channel_from_settings("email", GOOD["email"])
    assert isinstance(email, EmailChannel) and email.starttls and email.port == 587
    syslog = channel_from_settings("syslog", GOOD["syslog"])
    assert isinstance(syslog, SyslogChannel) and syslog.target == "tcp://siem.acme.example:6514"


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("webhook", {"url": None}, "url"),
        ("webhook", {"url": "file:///etc/passwd"}, "url"),
        ("webhook", {"secret": "short"}, "secret"),
        ("webhook", {"timeout": 0}, "timeout"),
        ("webhook", {"retries": 3}, "retries"),
        ("email", {"port": "25"}, "port"),
        ("email", {"port": True}, "port"),
        ("email", {"recipients": []}, "recipients"),
        ("email", {"recipients": ["soc@acme.example", 7]}, "recipients[1]"),
        ("email", {"recipients": ["soc@acme.example", "nobody"]}, "recipients"),
        ("email", {"sender": None}, "sender"),
        ("syslog", {"protocol": "http"}, "protocol"),
        ("syslog", {"port": 0}, "port"),
        ("syslog", {"host": None}, "host"),
    ],
)
def test_invalid_settings_name_the_field(kind, change, field):
    settings = {k: v for k, v in (GOOD[kind] | change).items() if v is not None}
    with pytest.raises(ChannelConfigError) as info:
        channel_from_settings(kind, settings)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_errors_never_echo_a_secret_value():
    with pytest.raises(ChannelConfigError) as info:
        channel_from_settings("webhook", GOOD["webhook"] | {"secret": "tiny"})
    assert "tiny" not in str(info.value)
    with pytest.raises(ChannelConfigError) as info:
        channel_from_settings("email", GOOD["email"] | {"password": 123456})
    assert "123456" not in str(info.value) and info.value.field == "password"


def test_unknown_kind_and_non_object_settings():
    with pytest.raises(ChannelConfigError) as info:
        channel_from_settings("pager", {})
    assert info.value.field == "kind" and "email, syslog, webhook" in str(info.value)
    with pytest.raises(ChannelConfigError):
        channel_from_settings("syslog", ["siem", 514])  # type: ignore[arg-type]


def test_secret_fields_come_from_the_schema_and_are_masked():
    assert secret_fields("webhook") == ["secret"]
    assert secret_fields("email") == ["password"]
    assert secret_fields("syslog") == []
    shown = masked_settings("email", GOOD["email"])
    assert shown["password"] == "***" and shown["username"] == "hw"
    assert masked_settings("webhook", GOOD["webhook"])["secret"] == "***"
    assert config_schema("webhook")["properties"]["secret"]["writeOnly"] is True


def test_a_provider_registers_its_own_channel_kind():
    register_channel(
        "memory-test",
        lambda name: MemoryChannel(name),
        {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    )
    channel = channel_from_settings("memory-test", {"name": "lab"})
    assert channel.target == "memory://lab"
    with pytest.raises(ChannelConfigError) as info:
        channel_from_settings("memory-test", {})
    assert info.value.field == "name"
