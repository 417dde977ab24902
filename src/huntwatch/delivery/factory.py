"""Build a channel from stored settings (a kind and a JSON-like dict), with errors that name the field.

Each kind declares its settings as a JSON Schema, so the web layer can publish the same schema for its
settings forms and API; secret settings are marked ``"writeOnly": true`` there, which tells the service what
to encrypt at rest and never show again (:func:`secret_fields`, :func:`masked_settings`).
A provider adds a channel kind (a SIEM's HTTP collector, a chat tool) with :func:`register_channel`;
nothing else in Huntwatch changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from huntwatch.delivery.channel import MASK, Channel, ChannelConfigError
from huntwatch.delivery.smtp import EmailChannel
from huntwatch.delivery.syslog import FRAMINGS, PROTOCOLS, UDP_MAX_BYTES, SyslogChannel
from huntwatch.delivery.webhook import WebhookChannel

_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_TIMEOUT = {"type": "number", "exclusiveMinimum": 0, "maximum": 600}

WEBHOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "description": "Receiver URL (http or https)."},
        "secret": {
            "type": "string",
            "minLength": 16,
            "writeOnly": True,
            "description": "Shared HMAC-SHA256 signing secret.",
        },
        "timeout": _TIMEOUT,
        "verify_tls": {"type": "boolean"},
        "ca_file": {"type": "string", "minLength": 1, "description": "PEM file of a private CA."},
    },
    "required": ["url", "secret"],
    "additionalProperties": False,
}
EMAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": _PORT,
        "sender": {"type": "string", "minLength": 3},
        "recipients": {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 1},
        "username": {"type": ["string", "null"]},
        "password": {"type": ["string", "null"], "writeOnly": True},
        "starttls": {"type": "boolean"},
        "ca_file": {"type": "string", "minLength": 1, "description": "PEM file of a private CA."},
        "timeout": _TIMEOUT,
    },
    "required": ["host", "port", "sender", "recipients"],
    "additionalProperties": False,
}
SYSLOG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": _PORT,
        "protocol": {"enum": list(PROTOCOLS)},
        "framing": {"enum": list(FRAMINGS)},
        "facility": {"type": "integer", "minimum": 0, "maximum": 23},
        "hostname": {"type": "string"},
        "max_bytes": {"type": "integer", "minimum": 480, "maximum": UDP_MAX_BYTES},
        "timeout": _TIMEOUT,
    },
    "required": ["host", "port"],
    "additionalProperties": False,
}

_REGISTRY: dict[str, tuple[Callable[..., Channel], dict[str, Any]]] = {
    "webhook": (WebhookChannel, WEBHOOK_SCHEMA),
    "email": (EmailChannel, EMAIL_SCHEMA),
    "syslog": (SyslogChannel, SYSLOG_SCHEMA),
}


def register_channel(kind: str, build: Callable[..., Channel], schema: dict[str, Any]) -> None:
    """Make ``kind`` available to :func:`channel_from_settings`: ``build(**settings)`` after ``schema`` passes."""
    jsonschema.Draft202012Validator.check_schema(schema)
    _REGISTRY[kind] = (build, schema)


def channel_kinds() -> list[str]:
    """The kinds :func:`channel_from_settings` can build, for settings forms."""
    return sorted(_REGISTRY)


def config_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind``'s settings, for forms and the OpenAPI document."""
    try:
        return _REGISTRY[kind][1]
    except KeyError:
        raise ChannelConfigError(
            "kind", f"unknown channel kind {kind!r}; known: {', '.join(channel_kinds())}"
        ) from None


def secret_fields(kind: str) -> list[str]:
    """Settings of ``kind`` that are secrets (``writeOnly`` in its schema)."""
    properties = config_schema(kind).get("properties", {})
    return sorted(name for name, spec in properties.items() if spec.get("writeOnly"))


def masked_settings(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` fit to show or log: every secret that is set replaced by a mask."""
    hidden = set(secret_fields(kind))
    return {name: (MASK if name in hidden and value else value) for name, value in config.items()}


def channel_from_settings(kind: str, config: Mapping[str, Any]) -> Channel:
    """A ready channel for ``kind`` built from ``config``; raises :class:`ChannelConfigError` naming the field."""
    schema = config_schema(kind)
    build = _REGISTRY[kind][0]
    if not isinstance(config, Mapping):
        raise ChannelConfigError(kind, "settings must be an object")
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(dict(config)), key=lambda e: list(e.path))
    if errors:
        field, problem = _describe(errors[0], schema)
        raise ChannelConfigError(field, problem)
    return build(**config)


def _describe(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> tuple[str, str]:
    """Turn a schema error into (field, problem) without echoing the value, which may be a secret."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in instance)
        return (f"{where}.{missing}" if where else missing), "is required"
    if error.validator == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))[0]
        return (f"{where}.{extra}" if where else extra), "is not a known setting"
    return where or "settings", _PROBLEMS.get(str(error.validator), "is invalid").format(_shown(error))


_PROBLEMS = {
    "type": "must be of type {}",
    "minLength": "must be at least {} characters",
    "minItems": "must have at least {} item(s)",
    "minimum": "must be at least {}",
    "maximum": "must be at most {}",
    "exclusiveMinimum": "must be greater than {}",
    "enum": "must be one of {}",
    "pattern": "must match {}",
}


def _shown(error: jsonschema.ValidationError) -> str:
    """The rule that failed (never the offending value, which may be a secret)."""
    rule = error.validator_value
    if isinstance(rule, list):
        return ", ".join(map(str, rule))
    return "" if isinstance(rule, dict) else str(rule)
