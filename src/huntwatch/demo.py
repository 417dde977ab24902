"""``huntwatch demo``: a working provider in one command, offline — lab telemetry through the whole pipeline.

Builds a simulated organisation (``huntwatch.lab``), ingests it as the tenant ``contoso``, hunts, correlates,
ranks when the AI package is present, enrolls and accepts the tenant, publishes the top-ranked story as an
Endpoint Attack Notification, and creates one user per role with fresh passwords. Running it again reuses
everything already there (ingest dedupes, hunts resume from their watermarks, users get new passwords).
"""

from __future__ import annotations

import datetime as dt
import importlib
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from huntwatch.config import Settings
from huntwatch.hunting import run_hunts
from huntwatch.ingest import ingest_paths
from huntwatch.lab import GROUND_TRUTH, generate
from huntwatch.lake import DuckDBEngine
from huntwatch.service import Actor, accounts, enrollment, publishing
from huntwatch.state import Alert, Database, Tenant, User
from huntwatch.stories.service import correlate

TENANT = "contoso"
TENANT_NAME = "Contoso Ltd (demo)"
DEMO_USERS = (
    ("admin@contoso.demo", "tenant_admin", True),
    ("analyst@contoso.demo", "tenant_analyst", True),
    ("expert@provider.demo", "expert", False),
    ("provider@provider.demo", "provider_admin", False),
)


@dataclass
class DemoReport:
    tenant: str
    lab_dir: Path
    events_ingested: int = 0
    leads_added: int = 0
    stories: int = 0
    ranked_by: str = ""
    published_alert_id: int | None = None
    users: list[tuple[str, str, str]] = field(default_factory=list)  # email, role, password
    notes: list[str] = field(default_factory=list)


def _tenant(db: Database, system: Actor) -> Tenant:
    with db.session() as s:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == TENANT))
        if tenant is None:
            tenant = accounts.create_tenant(s, system, TENANT, TENANT_NAME, region="eu", plan="standard")
        s.expunge(tenant)
        return tenant


def _users(db: Database, system: Actor, tenant_id: int) -> list[tuple[str, str, str]]:
    """One user per role; a rerun gives each a new password (the console is the only place it is shown)."""
    out = []
    with db.session() as s:
        for email, role, in_tenant in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user = s.scalar(select(User).where(User.email == email))
            if user is None:
                accounts.create_user(s, system, email, password, role, tenant_id if in_tenant else None)
            else:
                accounts.update_user(s, system, user.id, password=password, disabled=False)
            out.append((email, role, password))
    return out


def _actor(db: Database, email: str) -> Actor:
    with db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        return accounts.actor_for_user(user)


def _enroll(db: Database, engine: DuckDBEngine, tenant_id: int, report: DemoReport) -> None:
    admin, provider = _actor(db, DEMO_USERS[0][0]), _actor(db, DEMO_USERS[3][0])
    with db.session() as s:
        current = enrollment.get_enrollment(s, provider, tenant_id)
        if current is None or current.status == "rejected":
            current = enrollment.apply(s, admin, tenant_id, "Demo Admin", DEMO_USERS[0][0], True, engine)
        if current.status == "pending":
            failed = [c["name"] for c in current.checks if not c.get("passed")]
            if failed:
                report.notes.append("accepted despite failed eligibility checks (a lab is small): " + ", ".join(failed))
            enrollment.decide(s, provider, tenant_id, True)
        elif not current.enabled:
            enrollment.set_enabled(s, admin, tenant_id, True)
        if not enrollment.has_experts_on_demand(s, tenant_id):
            enrollment.add_subscription(s, provider, tenant_id, dt.datetime.now(dt.UTC).replace(tzinfo=None))


def _publish(db: Database, tenant_id: int, report: DemoReport) -> None:
    """Publish the top of the queue for the demo tenant, unless one of its stories is published already."""
    expert = _actor(db, DEMO_USERS[2][0])
    with db.session() as s:
        existing = s.scalar(
            select(Alert.id).where(Alert.tenant_id == tenant_id, Alert.story_id.is_not(None), ~Alert.is_sample)
        )
        if existing is not None:
            report.published_alert_id = existing
            return
        queue = [st for st in publishing.hunting_queue(s, expert, 500) if st.tenant_id == tenant_id]
        if not queue:
            report.notes.append("no story to publish: the hunts found nothing in this lab")
            return
        alert = publishing.publish(s, expert, queue[0].id, note="published by huntwatch demo")
        report.published_alert_id = alert.id


def _rank(db: Database, say: Callable[[str], None]) -> str:
    """Score the stories with the active model when the AI package is installed; say what ranked them."""
    try:
        scoring = importlib.import_module("huntwatch.ai.scoring")
    except ImportError:
        return "significance (the AI package is not installed)"
    say("Ranking stories …")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no trained model yet: the report says so
        scored = scoring.score_stories(db, TENANT, actor="demo")
    if scored.fallback:
        return "the transparent prior (train a model with: huntwatch model train)"
    return f"model {scored.model_version}"


def build_demo(
    settings: Settings,
    *,
    devices: int = 12,
    days: int = 1,
    seed: int = 7,
    say: Callable[[str], None] = lambda _msg: None,
) -> DemoReport:
    """Everything ``huntwatch demo`` does before serving; safe to run again on the same home."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    db.upgrade()
    engine = DuckDBEngine(settings.lake_path)
    system = Actor.system("demo")
    lab_dir = settings.home / "demo-lab" / f"d{devices}-n{days}-s{seed}"
    report = DemoReport(tenant=TENANT, lab_dir=lab_dir)
    if not (lab_dir / GROUND_TRUTH).exists():
        say(f"Building a lab organisation: {devices} devices, {days} day(s), seed {seed} …")
        generate(lab_dir, devices=devices, days=days, seed=seed)
    tenant = _tenant(db, system)
    say("Ingesting its telemetry …")
    ingested = ingest_paths(engine, TENANT, [lab_dir / "telemetry"])
    report.events_ingested = ingested.events_written
    say("Hunting …")
    report.leads_added = run_hunts(engine, db, TENANT).added
    say("Correlating leads into stories …")
    correlate(engine, db, TENANT)
    report.ranked_by = _rank(db, say)
    report.users = _users(db, system, tenant.id)
    _enroll(db, engine, tenant.id, report)
    _publish(db, tenant.id, report)
    with db.session() as s:
        report.stories = len(publishing.list_stories(s, system, tenant.id, status=None, limit=10_000))
    db.engine.dispose()
    return report
