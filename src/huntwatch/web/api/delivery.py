"""Delivery settings (secrets write-only), incident contacts, the delivery log, and sample notifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends
from sqlalchemy.orm import Session

from huntwatch import delivery as channels
from huntwatch.service import Actor, delivering, publishing
from huntwatch.state import DeliverySetting
from huntwatch.web.api.schemas import (
    AlertOut,
    ContactIn,
    ContactOut,
    DeliveryLogOut,
    DeliverySettingIn,
    DeliverySettingOut,
)
from huntwatch.web.context import AppContext, SessionDep, actor, context

router = APIRouter(tags=["delivery"])


def _shown(row: DeliverySetting) -> DeliverySettingOut:
    return DeliverySettingOut(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel,
        name=row.name,
        enabled=row.enabled,
        config=delivering.shown_config(row),
        created_at=row.created_at,
    )


@router.get("/delivery/channels")
def channel_schemas(who: Actor = Depends(actor)) -> dict[str, Any]:
    """The settings each channel kind takes, as JSON Schema (secrets are ``writeOnly``)."""
    return {kind: channels.config_schema(kind) for kind in channels.channel_kinds()}


@router.get("/tenants/{tenant_id}/delivery/settings", response_model=list[DeliverySettingOut])
def list_settings(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return [_shown(r) for r in delivering.list_settings(s, who, tenant_id)]


@router.post("/tenants/{tenant_id}/delivery/settings", response_model=DeliverySettingOut, status_code=201)
def add_setting(
    tenant_id: int,
    body: DeliverySettingIn,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    row = delivering.save_setting(
        s, who, tenant_id, body.channel, body.config, name=body.name, enabled=body.enabled, box=ctx.box
    )
    return _shown(row)


@router.put("/tenants/{tenant_id}/delivery/settings/{setting_id}", response_model=DeliverySettingOut)
def update_setting(
    tenant_id: int,
    setting_id: int,
    body: DeliverySettingIn,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """Secrets left out (or sent back masked) keep their stored value."""
    row = delivering.save_setting(
        s, who, tenant_id, body.channel, body.config, name=body.name, enabled=body.enabled,
        setting_id=setting_id, box=ctx.box,
    )  # fmt: skip
    return _shown(row)


@router.delete("/delivery/settings/{setting_id}", status_code=204)
def delete_setting(setting_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> None:
    delivering.delete_setting(s, who, setting_id)


@router.get("/tenants/{tenant_id}/contacts", response_model=list[ContactOut])
def list_contacts(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return delivering.list_contacts(s, who, tenant_id)


@router.post("/tenants/{tenant_id}/contacts", response_model=ContactOut, status_code=201)
def add_contact(tenant_id: int, body: ContactIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return delivering.add_contact(s, who, tenant_id, body.priority, body.name, body.email, body.phone)


@router.delete("/contacts/{contact_id}", status_code=204)
def delete_contact(contact_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> None:
    delivering.delete_contact(s, who, contact_id)


@router.get("/tenants/{tenant_id}/delivery/log", response_model=list[DeliveryLogOut])
def delivery_log(tenant_id: int, limit: int = 200, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return delivering.list_log(s, who, tenant_id, min(max(limit, 1), 1000))


@router.post("/tenants/{tenant_id}/sample-notification", response_model=AlertOut, status_code=201)
def sample_notification(
    tenant_id: int,
    tasks: BackgroundTasks,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """Generate a sample notification and send it on every enabled channel, to test rules, SIEM and playbooks."""
    alert = publishing.generate_sample(s, who, tenant_id)
    s.commit()
    tasks.add_task(delivering.deliver_alert, ctx.db, alert.id, box=ctx.box)
    return alert
