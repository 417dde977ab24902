"""Delivery settings, incident contacts, and handing published alerts to the delivery channels.

Secrets in channel settings are sealed (``SecretBox``) and never returned; what the API shows is masked.
Sending happens outside any database transaction (retries may take minutes), and each channel's outcome
becomes one row of the delivery log the tenant admin reads.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch import delivery
from huntwatch.delivery.channel import MASK
from huntwatch.service import scope
from huntwatch.service.access import Actor, require_read, require_tenant_role
from huntwatch.service.audit import record
from huntwatch.service.enrollment import notifications_on
from huntwatch.service.errors import InvalidInput, NotFound
from huntwatch.service.export import to_ocsf
from huntwatch.service.secrets import SecretBox
from huntwatch.state import Alert, Database, DeliveryLog, DeliverySetting, NotificationContact, Tenant

PRIORITIES = ("primary", "backup")
_NAMESPACE = uuid.UUID("0b8f7f1e-3a57-4d8e-b2f4-3c1d2f9e7a40")


def _split(kind: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    hidden = set(delivery.secret_fields(kind))
    plain = {k: v for k, v in config.items() if k not in hidden}
    secret = {k: v for k, v in config.items() if k in hidden and v is not None}
    return plain, secret


def shown_config(setting: DeliverySetting) -> dict[str, Any]:
    """The settings as the API shows them: secrets that are set appear masked."""
    if not setting.secret_encrypted:
        return dict(setting.config)
    return {**setting.config, **dict.fromkeys(delivery.secret_fields(setting.channel), MASK)}


def save_setting(
    s: Session,
    actor: Actor,
    tenant_id: int,
    channel: str,
    config: dict[str, Any],
    *,
    name: str = "",
    enabled: bool = True,
    setting_id: int | None = None,
    box: SecretBox | None = None,
) -> DeliverySetting:
    """Create or update a channel; on update, omitted secrets keep their stored value."""
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    box = box or SecretBox.default()
    row: DeliverySetting | None = None
    kept: dict[str, Any] = {}
    if setting_id is not None:
        row = s.get(DeliverySetting, setting_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound("no such delivery setting")
        if row.channel != channel:
            raise InvalidInput("the channel kind of a setting cannot change")
        kept = box.open(row.secret_encrypted)
    config = {k: v for k, v in config.items() if v != MASK}
    try:
        plain, secret = _split(channel, config)
        delivery.channel_from_settings(channel, {**plain, **kept, **secret})
    except delivery.ChannelConfigError as exc:
        raise InvalidInput(str(exc)) from exc
    if row is None:
        row = DeliverySetting(tenant_id=tenant_id, channel=channel)
        s.add(row)
    sealed = {**kept, **secret}
    row.name, row.enabled, row.config = name, enabled, plain
    row.secret_encrypted = box.seal(sealed) if sealed else None
    s.flush()
    record(s, actor, "delivery.save", "delivery_setting", row.id, tenant_id, channel=channel, enabled=enabled)
    return row


def list_settings(s: Session, actor: Actor, tenant_id: int) -> list[DeliverySetting]:
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    q = select(DeliverySetting).where(DeliverySetting.tenant_id == tenant_id).order_by(DeliverySetting.id)
    return list(s.scalars(q))


def delete_setting(s: Session, actor: Actor, setting_id: int) -> None:
    row = s.get(DeliverySetting, setting_id)
    if row is None:
        raise NotFound("no such delivery setting")
    require_tenant_role(s, actor, row.tenant_id, "tenant_admin")
    s.delete(row)
    record(s, actor, "delivery.delete", "delivery_setting", setting_id, row.tenant_id)


def add_contact(
    s: Session, actor: Actor, tenant_id: int, priority: str, name: str, email: str, phone: str = ""
) -> NotificationContact:
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    if priority not in PRIORITIES:
        raise InvalidInput("priority is primary or backup")
    if not name.strip() or "@" not in email:
        raise InvalidInput("a contact needs a name and an e-mail address")
    row = NotificationContact(
        tenant_id=tenant_id, priority=priority, name=name.strip(), email=email.strip(), phone=phone
    )
    s.add(row)
    s.flush()
    record(s, actor, "contact.add", "contact", row.id, tenant_id, priority=priority)
    return row


def list_contacts(s: Session, actor: Actor, tenant_id: int) -> list[NotificationContact]:
    require_read(s, actor, tenant_id)
    rows = s.scalars(select(NotificationContact).where(NotificationContact.tenant_id == tenant_id))
    return sorted(rows, key=lambda c: (PRIORITIES.index(c.priority), c.id))


def delete_contact(s: Session, actor: Actor, contact_id: int) -> None:
    row = s.get(NotificationContact, contact_id)
    if row is None:
        raise NotFound("no such contact")
    require_tenant_role(s, actor, row.tenant_id, "tenant_admin")
    s.delete(row)
    record(s, actor, "contact.delete", "contact", contact_id, row.tenant_id)


def list_log(s: Session, actor: Actor, tenant_id: int, limit: int = 200) -> list[DeliveryLog]:
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    q = select(DeliveryLog).where(DeliveryLog.tenant_id == tenant_id).order_by(DeliveryLog.id.desc()).limit(limit)
    return list(s.scalars(q))


def render_message(alert: Alert, tenant: Tenant) -> delivery.Message:
    """The alert as a message: readable text and HTML (every field escaped), and the OCSF finding as payload."""
    lines = [
        f"{alert.tag} from {alert.source}",
        f"Severity: {alert.severity}",
        f"Title: {alert.title}",
        "",
        alert.executive_summary,
        "",
        f"Method of entry: {alert.method_of_entry}",
        "Devices: " + ", ".join(scope.names(alert.scope, "devices")),
        "Accounts: " + ", ".join(scope.names(alert.scope, "accounts")),
        "",
        "Recommendations:",
        *(f"- {r}" for r in alert.recommendations),
    ]
    esc = html.escape
    body = (
        f"<h1>{esc(alert.title)}</h1><p><b>{esc(alert.tag)}</b> from {esc(alert.source)}, severity "
        f"<b>{esc(alert.severity)}</b></p><p>{esc(alert.executive_summary)}</p>"
        f"<p><b>Method of entry:</b> {esc(alert.method_of_entry)}</p>"
        "<ul>" + "".join(f"<li>{esc(str(r))}</li>" for r in alert.recommendations) + "</ul>"
    )
    return delivery.Message(
        subject=f"[Huntwatch] {alert.severity.upper()}: {alert.title}",
        severity=alert.severity,
        text="\n".join(lines),
        html=body,
        payload={"alert_id": alert.id, "tenant": tenant.slug, "finding": to_ocsf(alert, tenant)},
        tenant=tenant.slug,
        kind="sample" if alert.is_sample else "notification",
        id=str(uuid.uuid5(_NAMESPACE, f"alert/{alert.id}")),
    )


def deliver_alert(
    db: Database,
    alert_id: int,
    *,
    box: SecretBox | None = None,
    attempts: int = 5,
    backoff: Callable[[int], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[DeliveryLog]:
    """Send an alert on every enabled channel of its tenant and log each outcome.

    Real notifications go only to tenants with notifications on; samples go regardless, since testing the
    channels is their purpose.
    """
    box = box or SecretBox.default()
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotFound("no such alert")
        if not alert.is_sample and not notifications_on(s, alert.tenant_id):
            return []
        tenant = s.get(Tenant, alert.tenant_id)
        assert tenant is not None
        message = render_message(alert, tenant)
        rows = s.scalars(
            select(DeliverySetting).where(DeliverySetting.tenant_id == alert.tenant_id, DeliverySetting.enabled)
        )
        plans = [(r.id, r.channel, {**r.config, **box.open(r.secret_encrypted)}) for r in rows]
    options: dict[str, Any] = {"attempts": attempts}
    if backoff is not None:
        options["backoff"] = backoff
    if sleep is not None:
        options["sleep"] = sleep
    logs = []
    for setting_id, kind, config in plans:
        try:
            result = delivery.deliver(delivery.channel_from_settings(kind, config), message, **options)
            status = "delivered" if result.delivered else "dead_letter"
            last = result.attempts[-1]
            detail = (last.receipt or "") if result.delivered else (last.error or "")
            tries = len(result.attempts)
        except delivery.ChannelConfigError as exc:
            status, detail, tries = "dead_letter", f"invalid settings: {exc}", 0
        logs.append(
            DeliveryLog(
                tenant_id=tenant.id, alert_id=alert_id, setting_id=setting_id, channel=kind,
                status=status, attempts=tries, detail=detail[:2000],
            )
        )  # fmt: skip
    with db.session() as s:
        s.add_all(logs)
    return logs
