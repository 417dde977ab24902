"""Request and response bodies of the JSON API (they make the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TenantOut(Out):
    id: int
    slug: str
    name: str
    region: str
    plan: str
    created_at: dt.datetime


class TenantIn(BaseModel):
    slug: str
    name: str = ""
    region: str = "eu"
    plan: str = "standard"


class PolicyOut(Out):
    tenant_id: int
    auto_publish_min_score: float | None


class PolicyIn(BaseModel):
    auto_publish_min_score: float | None = Field(None, description="Publish without an expert above this score")


class UserOut(Out):
    id: int
    tenant_id: int | None
    email: str
    display_name: str
    role: str
    disabled: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime


class UserIn(BaseModel):
    email: str
    password: str
    role: str
    tenant_id: int | None = None
    display_name: str = ""


class UserPatch(BaseModel):
    role: str | None = None
    disabled: bool | None = None
    password: str | None = None


class SignIn(BaseModel):
    email: str
    password: str


class Me(BaseModel):
    kind: str
    name: str
    role: str
    tenant_id: int | None
    csrf_token: str | None = None


class TokenOut(Out):
    id: int
    tenant_id: int | None
    name: str
    role: str
    prefix: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIn(BaseModel):
    role: str
    tenant_id: int | None = None
    name: str = ""
    expires_at: dt.datetime | None = None


class NewToken(TokenOut):
    token: str = Field(description="The token itself; shown once, store it now")


class EnrollmentOut(Out):
    id: int
    tenant_id: int
    applicant_name: str
    applicant_email: str
    privacy_accepted: bool
    status: str
    reason: str
    checks: list[dict[str, Any]]
    enabled: bool
    applied_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None


class EnrollmentIn(BaseModel):
    applicant_name: str
    applicant_email: str
    privacy_accepted: bool


class Decision(BaseModel):
    accept: bool
    reason: str = ""


class Toggle(BaseModel):
    enabled: bool


class SubscriptionOut(Out):
    id: int
    tenant_id: int
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime


class SubscriptionIn(BaseModel):
    tenant_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None


class SubscriptionEnd(BaseModel):
    at: dt.datetime | None = None


class AlertSummary(Out):
    id: int
    tenant_id: int
    story_id: int | None
    title: str
    tag: str
    source: str
    severity: str
    status: str
    tactics: list[str]
    techniques: list[str]
    is_sample: bool
    first_activity: dt.datetime | None
    last_activity: dt.datetime | None
    created_at: dt.datetime


class AlertOut(AlertSummary):
    scope: dict[str, Any]
    timeline: list[Any]
    queries: list[Any]
    evidence: list[Any]
    executive_summary: str
    method_of_entry: str
    recommendations: list[Any]
    published_by: str
    updated_at: dt.datetime


class AlertPage(BaseModel):
    items: list[AlertSummary]
    total: int
    page: int
    page_size: int


class AlertPatch(BaseModel):
    status: str


class StorySummary(Out):
    id: int
    tenant_id: int
    title: str
    status: str
    significance: float
    score: float | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    assigned_to: str | None


class StoryOut(StorySummary):
    score_explanation: list[Any]
    scope: dict[str, Any]
    timeline: list[Any]
    process_trees: list[Any]
    summary: str
    queries: list[Any]


class DraftOut(BaseModel):
    title: str
    severity: str
    executive_summary: str
    method_of_entry: str
    scope: dict[str, Any]
    recommendations: list[str]
    tactics: list[str]
    techniques: list[str]


class PublishIn(BaseModel):
    title: str | None = None
    severity: str | None = None
    executive_summary: str | None = None
    method_of_entry: str | None = None
    scope: dict[str, Any] | None = None
    recommendations: list[str] | None = None
    tactics: list[str] | None = None
    techniques: list[str] | None = None
    note: str = ""


class VerdictIn(BaseModel):
    verdict: str
    note: str = ""


class VerdictOut(Out):
    id: int
    story_id: int
    tenant_id: int
    verdict: str
    note: str
    actor: str
    at: dt.datetime


class DeliverySettingIn(BaseModel):
    channel: str
    config: dict[str, Any]
    name: str = ""
    enabled: bool = True


class DeliverySettingOut(BaseModel):
    id: int
    tenant_id: int
    channel: str
    name: str
    enabled: bool
    config: dict[str, Any]
    created_at: dt.datetime


class ContactIn(BaseModel):
    priority: str
    name: str
    email: str
    phone: str = ""


class ContactOut(Out):
    id: int
    tenant_id: int
    priority: str
    name: str
    email: str
    phone: str


class DeliveryLogOut(Out):
    id: int
    tenant_id: int
    alert_id: int | None
    setting_id: int | None
    channel: str
    status: str
    attempts: int
    detail: str
    at: dt.datetime


class AuditOut(Out):
    id: int
    at: dt.datetime
    actor: str
    tenant_id: int | None
    action: str
    target_type: str
    target_id: str
    ip: str
    detail: dict[str, Any]


def naive(value: dt.datetime | None) -> dt.datetime | None:
    """State keeps naive UTC; clients may send any offset."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)
