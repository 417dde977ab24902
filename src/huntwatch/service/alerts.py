"""The tenant's alert queue: filter, sort and page, and the status changes a tenant analyst makes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, defer

from huntwatch.service.access import Actor, require_read, require_tenant_role, visible_tenant_ids
from huntwatch.service.audit import record
from huntwatch.service.errors import InvalidInput, NotFound
from huntwatch.state import Alert

STATUSES = ("new", "in_progress", "resolved")
SEVERITY_ORDER = ("informational", "low", "medium", "high", "critical")
SORTS = ("-created_at", "created_at", "-severity", "severity", "title", "-title")
MAX_PAGE_SIZE = 200
DETAIL_COLUMNS = (
    Alert.scope,
    Alert.timeline,
    Alert.queries,
    Alert.evidence,
    Alert.executive_summary,
    Alert.method_of_entry,
    Alert.recommendations,
)


@dataclass(frozen=True)
class AlertFilter:
    tenant_id: int | None = None
    status: str | None = None
    severity: str | None = None
    tag: str | None = None
    story_id: int | None = None
    search: str | None = None
    include_samples: bool = True


@dataclass(frozen=True)
class Page:
    items: list[Alert]
    total: int
    page: int
    page_size: int


def _severity_rank():  # type: ignore[no-untyped-def]
    return case({name: rank for rank, name in enumerate(SEVERITY_ORDER)}, value=Alert.severity, else_=-1)


def list_alerts(
    s: Session,
    actor: Actor,
    flt: AlertFilter = AlertFilter(),
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 50,
    *,
    full: bool = False,
) -> Page:
    """Alerts the actor may see, newest first by default; ``total`` counts every match for paging.

    Queue rows carry only the summary columns unless ``full``: the JSON detail (scope, timeline, evidence,
    ...) is what makes a page of alerts heavy, and a queue does not show it (touching it raises).
    """
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page starts at 1; page_size is 1..{MAX_PAGE_SIZE}")
    conds = []
    if flt.tenant_id is not None:
        require_read(s, actor, flt.tenant_id)
        conds.append(Alert.tenant_id == flt.tenant_id)
    else:
        visible = visible_tenant_ids(s, actor)
        if visible is not None:
            conds.append(Alert.tenant_id.in_(visible))
    if flt.status:
        conds.append(Alert.status == flt.status)
    if flt.severity:
        conds.append(Alert.severity == flt.severity)
    if flt.tag:
        conds.append(Alert.tag == flt.tag)
    if flt.story_id is not None:
        conds.append(Alert.story_id == flt.story_id)
    if flt.search:
        conds.append(Alert.title.ilike(f"%{flt.search}%"))
    if not flt.include_samples:
        conds.append(Alert.is_sample.is_(False))
    total = s.scalar(select(func.count()).select_from(Alert).where(*conds)) or 0
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    column = _severity_rank() if key == "severity" else getattr(Alert, key)
    order = [column.desc() if desc else column.asc(), Alert.id.desc() if desc else Alert.id.asc()]
    q = select(Alert).where(*conds).order_by(*order).offset((page - 1) * page_size).limit(page_size)
    if not full:
        q = q.options(*(defer(c, raiseload=True) for c in DETAIL_COLUMNS))
    return Page(items=list(s.scalars(q)), total=total, page=page, page_size=page_size)


def get_alert(s: Session, actor: Actor, alert_id: int) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise NotFound("no such alert")
    require_read(s, actor, alert.tenant_id)
    return alert


def set_status(s: Session, actor: Actor, alert_id: int, status: str) -> Alert:
    """Tenant analysts work their queue; readers only look."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    alert = get_alert(s, actor, alert_id)
    require_tenant_role(s, actor, alert.tenant_id, "tenant_analyst")
    if alert.status != status:
        record(s, actor, "alert.status", "alert", alert.id, alert.tenant_id, old=alert.status, new=status)
        alert.status = status
    return alert
