"""App-state models. Times are naive UTC. JSON columns hold typed objects serialised by their owners."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from huntwatch.state.base import Base, utcnow


class Tenant(Base):
    """A customer organisation; ``slug`` is also its name in the lake."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(40), default="eu")
    plan: Mapped[str] = mapped_column(String(40), default="standard")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Lead(Base):
    """One finding of a hunt, Sigma rule or analytic, with the event keys that prove it."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("tenant_id", "hunt_id", "dedup_key", name="uq_leads_tenant_hunt_dedup"),
        Index("ix_leads_tenant_first_seen", "tenant_id", "first_seen"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    hunt_id: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(20))  # hunt | sigma | analytic | anomaly
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))  # informational | low | medium | high | critical
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    tactics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    techniques: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # kind -> sorted list of values; kinds: device, account, process, file, remote_ip, remote_url, logon
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"table": "DeviceProcessEvents", "key": "<EventKey>"}, ...]
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    dedup_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)


class HuntWatermark(Base):
    """How far (lake batch sequence) a hunt has run for a tenant, and its last error."""

    __tablename__ = "hunt_watermarks"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    hunt_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Story(Base):
    """Correlated leads of one tenant: an incident with its scope, timeline and trees."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed | merged
    significance: Mapped[float] = mapped_column(Float, default=0.0)  # transparent prior, 0..100
    score: Mapped[float | None] = mapped_column(Float)  # model probability of a true attack, 0..1
    score_explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timeline: Mapped[list[Any]] = mapped_column(JSON, default=list)
    process_trees: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    queries: Mapped[list[Any]] = mapped_column(JSON, default=list)
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    assigned_to: Mapped[str | None] = mapped_column(String(254))  # the expert who took it from the queue
    assigned_at: Mapped[dt.datetime | None]
    links: Mapped[list[StoryLead]] = relationship(back_populates="story", cascade="all, delete-orphan")


class StoryLead(Base):
    """Why a lead is in a story: the shared entity and the time that joined it."""

    __tablename__ = "story_leads"
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    story: Mapped[Story] = relationship(back_populates="links")


class StoryEvent(Base):
    """History of a story: created, extended, merged, split, rescored (who, when, what)."""

    __tablename__ = "story_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Verdict(Base):
    """An expert's judgement of a story, the label the ranking model learns from."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(30))  # confirmed_attack | benign_true_positive | false_positive
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="system")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    """A trained model kept with its metrics; one active per kind, older ones kept for rollback."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ranking | anomaly
    version: Mapped[str] = mapped_column(String(60), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- people and access -------------------------------------------------------------------------------------

ROLES = ("tenant_reader", "tenant_analyst", "tenant_admin", "expert", "provider_admin")
TOKEN_ROLES = (*ROLES, "sensor")
PROVIDER_ROLES = ("expert", "provider_admin")


class User(Base):
    """A person: tenant staff carry a tenant, provider staff (expert, provider admin) do not."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    disabled: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for sensors and integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, so people can tell tokens apart
    created_by: Mapped[str] = mapped_column(String(254), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie's SHA-256 and the CSRF token its forms must echo."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class AuditLog(Base):
    """Every state change: who, what, when, from where."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_at", "tenant_id", "at"),
        Index("ix_audit_log_action_ip_at", "action", "ip", "at"),  # failed sign-ins per address
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- enrollment and subscriptions ---------------------------------------------------------------------------


class Enrollment(Base):
    """A tenant's application for Endpoint Attack Notifications and the provider's decision."""

    __tablename__ = "enrollments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), unique=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_email: Mapped[str] = mapped_column(String(254))
    privacy_accepted: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | accepted | rejected
    reason: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"name", "passed", "detail"}]
    enabled: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(254))


class Subscription(Base):
    """Experts on demand for one tenant between two dates (end open when null)."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40), default="experts_on_demand")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(254), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TenantPolicy(Base):
    """What a tenant lets the service do without a person: auto-publish above a model score."""

    __tablename__ = "tenant_policies"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    auto_publish_min_score: Mapped[float | None] = mapped_column(Float)  # null: never auto-publish


# --- alerts and delivery ------------------------------------------------------------------------------------


class Alert(Base):
    """An entry of the tenant's alert queue; endpoint attack notifications are alerts published by experts."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_tenant_created", "tenant_id", "created_at"),
        Index("ix_alerts_tenant_status", "tenant_id", "status"),
        Index("ix_alerts_tenant_severity", "tenant_id", "severity"),
        # the provider's cross-tenant queue and the notifications view page through these
        Index("ix_alerts_created_id", "created_at", "id"),
        Index("ix_alerts_tag_created_id", "tag", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    tag: Mapped[str] = mapped_column(String(60), default="Endpoint Attack Notification")
    source: Mapped[str] = mapped_column(String(60), default="Huntwatch Experts")
    severity: Mapped[str] = mapped_column(String(20))  # informational | low | medium | high | critical
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | in_progress | resolved
    tactics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    techniques: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # devices, accounts, files, ...
    timeline: Mapped[list[Any]] = mapped_column(JSON, default=list)
    queries: Mapped[list[Any]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    executive_summary: Mapped[str] = mapped_column(Text, default="")
    method_of_entry: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    first_activity: Mapped[dt.datetime | None]
    last_activity: Mapped[dt.datetime | None]
    published_by: Mapped[str] = mapped_column(String(254), default="system")
    is_sample: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliverySetting(Base):
    """One delivery channel a tenant turned on; secrets are kept encrypted, never in ``config``."""

    __tablename__ = "delivery_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # webhook | email | syslog
    name: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationContact(Base):
    """Who the provider calls about an incident, in order of priority."""

    __tablename__ = "notification_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    priority: Mapped[str] = mapped_column(String(10))  # primary | backup
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")


class DeliveryLog(Base):
    """The outcome of handing one alert to one channel, shown to the tenant admin."""

    __tablename__ = "delivery_log"
    __table_args__ = (Index("ix_delivery_log_tenant_at", "tenant_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    setting_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_settings.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # delivered | failed | dead_letter
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- experts on demand: cases -------------------------------------------------------------------------------


class Case(Base):
    """A question a tenant asked the experts, with what it saw frozen at ask time (``snapshot``).

    ``sla`` freezes the plan's targets and business calendar when the case is asked, so changing a plan later
    does not move the goalposts of cases already running.
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_tenant_created", "tenant_id", "created_at"),
        Index("ix_cases_status_created", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))  # alert_clarification | device_behaviour | threat_intelligence
    topic: Mapped[str] = mapped_column(String(300))
    topic_link: Mapped[str] = mapped_column(String(500), default="")  # the portal page the case was asked from
    context_kind: Mapped[str] = mapped_column(String(10), default="")  # "" | device | alert | file
    context_ref: Mapped[str] = mapped_column(String(300), default="")
    question: Mapped[str] = mapped_column(Text)
    correspondence_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(30), default="submitted")
    outcome: Mapped[str | None] = mapped_column(String(40))  # of the latest progress report
    assigned_to: Mapped[str | None] = mapped_column(String(254))
    assigned_at: Mapped[dt.datetime | None]
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_look: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sla: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


class CaseMessage(Base):
    """One message of a case's thread; an expert's progress report carries one of the four outcomes."""

    __tablename__ = "case_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(10))  # customer | expert
    author: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseAttachment(Base):
    """A file added to a case; the bytes live under ``HUNTWATCH_HOME/attachments/<tenant>/`` by ``stored_name``."""

    __tablename__ = "case_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("case_messages.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseStatusChange(Base):
    """The status history of a case; SLA clocks are computed from it."""

    __tablename__ = "case_status_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseSlaPolicy(Base):
    """Case targets of one plan, in business days, and the business calendar they are counted on."""

    __tablename__ = "case_sla_policies"
    plan: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_response_days: Mapped[float] = mapped_column(Float, default=2.0)
    resolution_days: Mapped[float] = mapped_column(Float, default=10.0)
    reopen_days: Mapped[int] = mapped_column(Integer, default=14)
    weekend: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ISO weekday numbers, Monday = 1
    holidays: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ISO dates
    updated_by: Mapped[str] = mapped_column(String(254), default="system")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseTemplate(Base):
    """An answer an expert reuses, optionally tied to one progress-report outcome."""

    __tablename__ = "case_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(254), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
