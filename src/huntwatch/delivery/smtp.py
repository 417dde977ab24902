"""E-mail over SMTP: one multipart/alternative message (plain text and HTML) to the tenant's recipients.

Headers ``X-Huntwatch-Kind``, ``X-Huntwatch-Severity`` and ``X-Huntwatch-Tenant`` let customers write
mail rules; ``Message-ID`` is derived from the message id so retries are recognisable duplicates.
SMTP 4xx replies and connection errors are retried; 5xx replies (rejected sender, recipients, auth) are not.
"""

from __future__ import annotations

import email.utils
import smtplib
import ssl
from email.message import EmailMessage

from huntwatch.delivery.channel import MASK, ChannelConfigError, DeliveryError, redact
from huntwatch.delivery.message import Message


def _one_line(text: str) -> str:
    """Header values must not carry line breaks (they would inject headers); fold all whitespace runs."""
    return " ".join(text.split())


def _check_address(field: str, address: str) -> str:
    _, addr = email.utils.parseaddr(address)
    if "@" not in addr or any(c in address for c in "\r\n"):
        raise ChannelConfigError(field, f"{address!r} is not an e-mail address")
    return address


class EmailChannel:
    """Sends each message as multipart text + HTML mail through one SMTP server.

    With ``starttls`` the server's certificate is verified against the system CAs, or ``ca_file`` (PEM)
    for a private CA; a failed verification is not retried.
    """

    kind = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        *,
        ca_file: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not host:
            raise ChannelConfigError("host", "must name the SMTP server")
        if not 0 < port < 65536:
            raise ChannelConfigError("port", "must be between 1 and 65535")
        if not recipients:
            raise ChannelConfigError("recipients", "must list at least one address")
        if password and not username:
            raise ChannelConfigError("username", "is required when a password is set")
        self.host = host
        self.port = port
        self.sender = _check_address("sender", sender)
        self.recipients = [_check_address("recipients", r) for r in recipients]
        self.username = username
        self._password = password
        self.starttls = starttls
        self.ca_file = ca_file
        self.timeout = timeout

    @property
    def target(self) -> str:
        return f"smtp://{self.host}:{self.port} -> {', '.join(self.recipients)}"

    def __repr__(self) -> str:
        password = MASK if self._password else None
        return (
            f"EmailChannel(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"recipients={self.recipients!r}, username={self.username!r}, password={password!r}, "
            f"starttls={self.starttls})"
        )

    def render(self, message: Message) -> EmailMessage:
        """The mail as it will be sent (also handy for previews)."""
        mail = EmailMessage()
        mail["Subject"] = _one_line(f"[Huntwatch] [{message.severity.upper()}] {message.subject}")
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = email.utils.format_datetime(message.created_at)
        domain = email.utils.parseaddr(self.sender)[1].rpartition("@")[2] or "huntwatch.invalid"
        mail["Message-ID"] = f"<{_one_line(message.id)}@{domain}>"
        mail["X-Huntwatch-Kind"] = message.kind
        mail["X-Huntwatch-Severity"] = message.severity
        mail["X-Huntwatch-Tenant"] = _one_line(message.tenant)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message) -> str:
        mail = self.render(message)
        context = self._tls_context() if self.starttls else None
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if context is not None:
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self._password or "")
                refused = smtp.send_message(mail, from_addr=self.sender, to_addrs=self.recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                self._clean(f"all recipients refused: {exc.recipients}"), retryable=all(400 <= c < 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise DeliveryError(
                self._clean(f"SMTP {exc.smtp_code}: {text}"), retryable=not 500 <= exc.smtp_code < 600
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"TLS certificate not trusted: {exc.verify_message}", retryable=False) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"server does not support this: {exc}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(self._clean(f"{type(exc).__name__}: {exc}")) from None
        accepted = len(self.recipients) - len(refused)
        receipt = f"accepted for {accepted} of {len(self.recipients)} recipients"
        if refused:
            receipt += f"; refused: {', '.join(sorted(refused))}"
        return receipt

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"ca_file: cannot load {self.ca_file}: {exc}", retryable=False) from None

    def _clean(self, text: str) -> str:
        return redact(text, [self._password])
