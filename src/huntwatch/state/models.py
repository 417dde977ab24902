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
