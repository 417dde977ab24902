"""The audit log: one row per state change, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch.service.access import Actor, require_tenant_role, visible_tenant_ids
from huntwatch.state import AuditLog


def record(
    s: Session,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: object = "",
    tenant_id: int | None = None,
    **detail: Any,
) -> AuditLog:
    row = AuditLog(
        actor=actor.label,
        tenant_id=tenant_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        ip=actor.ip,
        detail=detail,
    )
    s.add(row)
    return row


def list_audit(s: Session, actor: Actor, tenant_id: int | None = None, limit: int = 200) -> list[AuditLog]:
    """Tenant admins read their tenant's trail; provider admins read everything."""
    q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if tenant_id is not None:
        require_tenant_role(s, actor, tenant_id, "tenant_admin")
        q = q.where(AuditLog.tenant_id == tenant_id)
    elif visible_tenant_ids(s, actor) is not None:
        if actor.tenant_id is None:
            return []
        require_tenant_role(s, actor, actor.tenant_id, "tenant_admin")
        q = q.where(AuditLog.tenant_id == actor.tenant_id)
    return list(s.scalars(q))
