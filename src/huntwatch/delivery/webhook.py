"""Signed JSON webhooks.

Every POST carries

``X-Huntwatch-Timestamp``
    Unix time (seconds) when the request was signed.
``X-Huntwatch-Signature``
    ``sha256=<hex>``: HMAC-SHA256, keyed with the shared secret, of ``<timestamp>.<raw body bytes>``.
    Covering the timestamp lets a receiver refuse replays: :func:`verify_signature` rejects a request
    whose timestamp is more than ``tolerance_s`` (default 300 s) away from its clock.
``Idempotency-Key``
    The message id, identical on every retry, so a receiver can drop duplicates.
``X-Huntwatch-Event``
    The message kind (``notification``, ``sample``, ``case_update``).

The body is a JSON object: ``{"id", "kind", "tenant", "severity", "subject", "created_at", "text",
"data"}`` where ``data`` is the message's payload. 2xx is success; 408, 425, 429 and 5xx are retried
(honouring ``Retry-After``); other statuses and redirects are permanent failures.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import ssl
import time
import urllib.parse
from typing import Any

import httpx
import orjson

from huntwatch import __version__
from huntwatch.delivery.channel import MASK, ChannelConfigError, DeliveryError, redact
from huntwatch.delivery.message import Message

SIGNATURE_HEADER = "X-Huntwatch-Signature"
TIMESTAMP_HEADER = "X-Huntwatch-Timestamp"
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Huntwatch-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """For receivers: is this request from a holder of ``secret``, fresh, and unmodified?

    Pass the raw body bytes exactly as received (before any JSON parsing), the ``X-Huntwatch-Timestamp``
    and ``X-Huntwatch-Signature`` header values. Comparison is constant-time.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        return False
    raw = body.encode() if isinstance(body, str) else body
    return hmac.compare_digest(sign(secret, sent, raw), header or "")


def render_body(message: Message) -> bytes:
    """The JSON body a webhook receives for ``message``."""
    document: dict[str, Any] = {
        "id": message.id,
        "kind": message.kind,
        "tenant": message.tenant,
        "severity": message.severity,
        "subject": message.subject,
        "created_at": message.created_at,
        "text": message.text,
        "data": message.payload,
    }
    return orjson.dumps(document, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def _safe_target(url: str) -> str:
    """The URL without credentials and query values, which often carry tokens."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = "&".join(f"{name}={MASK}" for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class WebhookChannel:
    """POSTs each message as signed JSON to one URL.

    HTTPS certificates are verified against the system CAs, or ``ca_file`` (PEM) for a private CA;
    ``verify_tls=False`` turns verification off (lab set-ups only).
    ``transport`` is an ``httpx`` transport seam (e.g. ``httpx.MockTransport``) for fast in-process tests.
    """

    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        verify_tls: bool = True,
        ca_file: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelConfigError("url", "must be an absolute http:// or https:// URL")
        if not secret:
            raise ChannelConfigError("secret", "must not be empty; receivers verify the signature with it")
        if timeout <= 0:
            raise ChannelConfigError("timeout", "must be positive")
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self.verify_tls = verify_tls
        self.ca_file = ca_file
        self._transport = transport

    @property
    def target(self) -> str:
        return _safe_target(self.url)

    def __repr__(self) -> str:
        return f"WebhookChannel(url={self.target!r}, secret={MASK!r})"

    def send(self, message: Message) -> str:
        body = render_body(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Huntwatch/{__version__}",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            "Idempotency-Key": message.id,
            "X-Huntwatch-Event": message.kind,
        }
        verify = _tls_verification(self.verify_tls, self.ca_file)
        try:
            with httpx.Client(
                timeout=self.timeout, verify=verify, transport=self._transport, follow_redirects=False
            ) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            untrusted = _cert_error(exc)
            if untrusted is not None:
                raise DeliveryError(
                    f"TLS certificate not trusted: {untrusted.verify_message}", retryable=False
                ) from None
            raise DeliveryError(self._clean(f"{type(exc).__name__}: {exc}")) from None
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        reason = self._clean(response.text[:200].strip())
        detail = f"HTTP {status} {response.reason_phrase}" + (f": {reason}" if reason else "")
        raise DeliveryError(detail, retryable=retryable, retry_after=_retry_after(response))

    def _clean(self, text: str) -> str:
        return redact(text.replace(self.url, self.target), [self._secret])


def _tls_verification(verify_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    if not (verify_tls and ca_file):
        return verify_tls
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"ca_file: cannot load {ca_file}: {exc}", retryable=False) from None


def _cert_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind an httpx error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
