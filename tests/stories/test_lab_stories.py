"""Correlation on simulated tenants: an intrusion's story is its own, not the day's admin work with it attached."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from huntwatch.ai.coldstart import LabSpec, attack_events, build_lab_corpus, label_tenant
from huntwatch.lab import GROUND_TRUTH
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database, Lead

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("spec", [LabSpec(1002, "commodity_malware"), LabSpec(1005, "insider_staging")])
def test_intrusion_story_holds_the_attack_and_little_else(tmp_path: Path, spec: LabSpec) -> None:
    # A 24-hour chain over every shared device and account once put these into a story of 60-75 leads
    # spanning most of the office, the attack a tenth of it; the benign tenants' stories looked the same.
    build_lab_corpus([spec], tmp_path)
    engine, db = DuckDBEngine(tmp_path / "lake"), Database(f"sqlite:///{tmp_path / 'state.db'}")
    truth = attack_events(json.loads((tmp_path / spec.tenant / GROUND_TRUTH).read_text()))
    _, lead_labels = label_tenant(engine, db, spec.tenant, truth)
    with db.session() as s:
        story_of = {lead.id: lead.story_id for lead in s.scalars(select(Lead))}
    sizes = Counter(story_of.values())
    attack = Counter(story_of[lead] for lead, scenario in lead_labels.items() if scenario)
    (story, hits), *_ = attack.most_common()
    assert hits >= 0.8 * sum(attack.values())  # the intrusion is one story
    assert hits >= 0.6 * sizes[story]  # mostly the intrusion
    assert len(sizes) >= 5  # the admins' and users' days are stories of their own
