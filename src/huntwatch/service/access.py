"""Who is acting, and what they may see and change. Every workflow takes an ``Actor`` and asks here.

Tenant staff see their own tenant; experts see tenants whose enrollment was accepted; provider admins see
all. Objects outside an actor's sight are reported as missing, never as forbidden, so ids leak nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch.service.errors import NotFound, PermissionDenied
from huntwatch.state import Enrollment

TENANT_RANK = {"tenant_reader": 1, "tenant_analyst": 2, "tenant_admin": 3}


@dataclass(frozen=True)
class Actor:
    """A signed-in user, an API token or the system itself, with where the request came from."""

    kind: str  # user | token | system
    name: str
    role: str
    tenant_id: int | None = None
    id: int | None = None
    ip: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind="system", name=name, role="provider_admin")

    @property
    def is_provider_admin(self) -> bool:
        return self.role == "provider_admin" and self.tenant_id is None

    @property
    def is_expert(self) -> bool:
        return self.role == "expert" and self.tenant_id is None

    @property
    def label(self) -> str:
        """How the audit log names the actor."""
        return f"{self.kind}:{self.name}"


def enrolled_tenant_ids(s: Session) -> list[int]:
    """Tenants an expert works on: enrollment accepted."""
    return list(s.scalars(select(Enrollment.tenant_id).where(Enrollment.status == "accepted")))


def visible_tenant_ids(s: Session, actor: Actor) -> list[int] | None:
    """Tenants the actor may read; ``None`` means every tenant."""
    if actor.role == "sensor":
        return []
    if actor.is_provider_admin:
        return None
    if actor.is_expert:
        return enrolled_tenant_ids(s)
    return [actor.tenant_id] if actor.tenant_id is not None else []


def require_read(s: Session, actor: Actor, tenant_id: int) -> None:
    visible = visible_tenant_ids(s, actor)
    if visible is not None and tenant_id not in visible:
        raise NotFound("no such tenant or object")


def require_tenant_role(s: Session, actor: Actor, tenant_id: int, minimum: str) -> None:
    """Tenant staff of at least ``minimum`` rank, or a provider admin; experts do not run tenants' settings."""
    require_read(s, actor, tenant_id)
    if actor.is_provider_admin:
        return
    if TENANT_RANK.get(actor.role, 0) < TENANT_RANK[minimum]:
        raise PermissionDenied(f"needs the {minimum} role")


def require_provider(actor: Actor, roles: Sequence[str] = ("provider_admin",)) -> None:
    if actor.tenant_id is not None or actor.role not in roles:
        raise PermissionDenied("needs provider staff: " + " or ".join(roles))


def require_expert_on(s: Session, actor: Actor, tenant_id: int) -> None:
    """An expert on an enrolled tenant, or a provider admin."""
    require_provider(actor, ("expert", "provider_admin"))
    require_read(s, actor, tenant_id)
