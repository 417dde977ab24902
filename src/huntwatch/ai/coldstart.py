"""Cold-start examples: lab tenants run through the real pipeline, their stories labelled by ground truth.

A lab tenant is generated, ingested, hunted and correlated exactly as a customer's data would be; a story
is a true attack when any of its leads' evidence events is one of a scripted intrusion's events in
``ground_truth.json``. Each tenant plays at most one intrusion so correlation cannot blur two of them into
one label. The lab is imported lazily: only training and evaluation use it, never scoring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from huntwatch.ai.features import TenantCounts, lead_features, tenant_story_features
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database, Lead, Story, Tenant
from huntwatch.stories.entities import device_key

Progress = Callable[[str], None]


@dataclass
class Example:
    """One labelled story: where it came from, its features and whether it is a true attack."""

    source: str  # lab:<tenant> | verdict:<tenant> | dataset:<tenant>
    unit: str  # story | lead (a lead taken alone as a one-lead story)
    unit_id: int
    features: dict[str, float]
    label: int  # 1 true attack, 0 benign
    detail: str = ""  # the scenario or verdict behind the label

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Example:
        return cls(
            d["source"],
            d["unit"],
            int(d["unit_id"]),
            {k: float(v) for k, v in d["features"].items()},
            int(d["label"]),
            d.get("detail", ""),
        )


@dataclass(frozen=True)
class LabSpec:
    """One lab tenant to build: a seed, a size and the intrusion it plays (None: benign only)."""

    seed: int
    scenario: str | None
    devices: int = 16
    days: int = 2

    @property
    def tenant(self) -> str:
        return f"lab-{self.seed}-{self.scenario or 'benign'}"


def lab_specs(seeds: Iterable[int], *, devices: int = 16, days: int = 2) -> list[LabSpec]:
    """Seed i plays attack scenario i mod 5, every sixth seed none: a balanced, reproducible mix."""
    from huntwatch.lab import ATTACK_SCENARIOS

    specs = []
    for seed in seeds:
        slot = seed % (len(ATTACK_SCENARIOS) + 1)
        scenario = ATTACK_SCENARIOS[slot] if slot < len(ATTACK_SCENARIOS) else None
        specs.append(LabSpec(seed, scenario, devices, days))
    return specs


def attack_events(ground_truth: dict[str, Any]) -> dict[tuple[str, str, int], str]:
    """(device, channel, record id) of every scripted attack event → scenario id."""
    out: dict[tuple[str, str, int], str] = {}
    for sc in ground_truth.get("scenarios", []):
        if sc.get("kind") != "attack":
            continue
        for e in sc.get("events", []):
            out[(device_key(e["device"]), e["channel"].lower(), int(e["record_id"]))] = sc["id"]
    return out


def attack_keys(
    engine: DuckDBEngine, tenant: str, truth: dict[tuple[str, str, int], str], keys: Iterable[str]
) -> dict[str, str]:
    """EventKey → scenario, for the given keys that are scripted attack events (matched in RawEvents)."""
    import pyarrow as pa

    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = engine.query(
        "SELECT r.EventKey, r.DeviceName, r.Channel, r.RecordId FROM RawEvents r JOIN wanted w ON r.EventKey = w.k",
        tenant,
        inputs={"wanted": pa.table({"k": wanted})},
    ).to_pylist()
    out: dict[str, str] = {}
    for r in rows:
        where = (device_key(r["DeviceName"] or ""), (r["Channel"] or "").lower(), int(r["RecordId"] or -1))
        if where in truth:
            out[r["EventKey"]] = truth[where]
    return out


def _keys(lead: Lead) -> list[str]:
    return [str(i.get("key") if isinstance(i, dict) else i) for i in lead.evidence or [] if i]


def label_tenant(
    engine: DuckDBEngine,
    db: Database,
    tenant: str,
    truth: dict[tuple[str, str, int], str],
    *,
    attack: set[str] | None = None,
) -> tuple[dict[int, str | None], dict[int, str | None]]:
    """(story id → scenario or None, lead id → scenario or None): attack when any evidence event is scripted
    (``truth``) or one of the ``attack`` EventKeys."""
    with db.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        if tenant_id is None:
            return {}, {}
        story_ids = list(s.scalars(select(Story.id).where(Story.tenant_id == tenant_id, Story.status != "merged")))
        lead_keys = {
            (lead.id, lead.story_id): _keys(lead) for lead in s.scalars(select(Lead).where(Lead.tenant_id == tenant_id))
        }
    every = {k for ks in lead_keys.values() for k in ks}
    if attack is None:
        hits = attack_keys(engine, tenant, truth, every)
    else:  # already known attack EventKeys (e.g. events of labelled recordings)
        hits = {k: "labelled recording" for k in every & attack}
    stories: dict[int, str | None] = dict.fromkeys(story_ids)
    leads: dict[int, str | None] = {}
    for (lead_id, story_id), ks in lead_keys.items():
        scenario = next((hits[k] for k in ks if k in hits), None)
        leads[lead_id] = scenario
        if scenario and story_id in stories:
            stories[story_id] = scenario
    return stories, leads


def run_pipeline(engine: DuckDBEngine, db: Database, tenant: str, paths: Sequence[Path]) -> None:
    """Ingest, hunt (built-in hunts and analytics) and correlate: what the service does with new data."""
    from huntwatch.hunting import run_hunts
    from huntwatch.ingest import ingest_paths
    from huntwatch.stories.service import correlate

    ingest_paths(engine, tenant, paths)
    run_hunts(engine, db, tenant)
    correlate(engine, db, tenant)


def build_lab_tenant(spec: LabSpec, workdir: Path, engine: DuckDBEngine, db: Database) -> list[Example]:
    """Generate one lab, push it through the pipeline into ``engine``/``db`` and label its stories."""
    from huntwatch.lab import GROUND_TRUTH, generate

    out = workdir / spec.tenant
    manifest = generate(
        out, devices=spec.devices, days=spec.days, scenarios=[spec.scenario] if spec.scenario else [], seed=spec.seed
    )
    run_pipeline(engine, db, spec.tenant, [manifest.telemetry_dir])
    truth = attack_events(json.loads((out / GROUND_TRUTH).read_text()))
    return tenant_examples(engine, db, spec.tenant, truth, f"lab:{spec.tenant}")


def tenant_examples(
    engine: DuckDBEngine,
    db: Database,
    tenant: str,
    truth: dict[tuple[str, str, int], str],
    source: str,
    *,
    attack: set[str] | None = None,
) -> list[Example]:
    """Every story and every lead (as a one-lead story) of a tenant, labelled by ground truth."""
    story_labels, lead_labels = label_tenant(engine, db, tenant, truth, attack=attack)
    with db.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        if tenant_id is None:
            return []
        feats = tenant_story_features(s, int(tenant_id))
        counts = TenantCounts.load(s, int(tenant_id))
        leads = list(s.scalars(select(Lead).where(Lead.tenant_id == tenant_id).order_by(Lead.id)))
        lead_feats = {lead.id: lead_features(lead, counts) for lead in leads}
    examples = [
        Example(
            source, "story", sid, feats[sid], int(story_labels.get(sid) is not None), story_labels.get(sid) or "benign"
        )
        for sid in sorted(feats)
    ]
    examples += [
        Example(source, "lead", lid, f, int(lead_labels.get(lid) is not None), lead_labels.get(lid) or "benign")
        for lid, f in lead_feats.items()
    ]
    # Content order, not id order: the ids a rerun hands out can differ (e.g. leads of one analytic stored
    # in another order), and training must see the same examples in the same order to give the same model.
    examples.sort(key=lambda e: (e.unit, sorted(e.features.items()), e.label, e.detail))
    return examples


def build_lab_corpus(specs: Sequence[LabSpec], workdir: Path, *, progress: Progress | None = None) -> list[Example]:
    """Examples from every lab tenant, each in its own lake and state under ``workdir`` (kept for inspection)."""
    workdir.mkdir(parents=True, exist_ok=True)
    engine = DuckDBEngine(workdir / "lake")
    db = Database(f"sqlite:///{workdir / 'state.db'}")
    db.create_all()
    examples: list[Example] = []
    for spec in specs:
        if progress:
            progress(spec.tenant)
        examples.extend(build_lab_tenant(spec, workdir, engine, db))
    return examples
