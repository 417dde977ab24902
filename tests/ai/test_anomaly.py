"""Anomaly leads fire on the lab's injected behaviour change and stay silent on the unchanged baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntwatch.ai import find_anomalies
from huntwatch.ai.anomaly import HUNT_ID
from huntwatch.hunting import list_leads
from huntwatch.ingest import ingest_paths
from huntwatch.lab import generate
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    """The same organisation twice (same seed): once unchanged, once with the behaviour change."""
    root = tmp_path_factory.mktemp("anomaly")
    engine = DuckDBEngine(root / "lake")
    for tenant, scenarios in (("baseline", []), ("changed", ["behaviour_change"])):
        manifest = generate(root / tenant, devices=12, days=3, scenarios=scenarios, seed=5)
        ingest_paths(engine, tenant, [manifest.telemetry_dir])
    return engine


def test_unchanged_baseline_raises_nothing(lake: DuckDBEngine) -> None:
    report, leads = find_anomalies(lake, None, "baseline")
    assert report.baseline_hours > 100 and report.device_hours > report.baseline_hours
    assert leads == [] and report.flagged == []


def test_injected_change_raises_a_lead_that_says_what_and_compared_to_what(lake: DuckDBEngine, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    db.create_all()
    report, leads = find_anomalies(lake, db, "changed")
    assert len(leads) == 1
    lead = leads[0]
    assert lead.source == "anomaly" and lead.hunt_id == HUNT_ID
    assert any(p.endswith(".exe") and "\\programdata\\" in p for p in lead.details["new_programs"])
    assert lead.details["new_destinations"] and lead.details["hour"].endswith(("02:00:00", "03:00:00", "04:00:00"))
    unusual = {u["feature"]: u for u in lead.details["unusual"]}
    assert "new_images" in unusual and unusual["new_images"]["device_baseline_max"] == 0
    assert "compared_to" in lead.details and lead.details["isolation_score"] < lead.details["baseline_floor"]
    assert lead.evidence
    # stored through the hunting package: a rerun adds nothing
    assert report.added == 1
    again, _ = find_anomalies(lake, db, "changed")
    assert again.added == 0
    assert [x.hunt_id for x in list_leads(db, "changed")] == [HUNT_ID]


def test_hours_another_lead_already_explains_are_left_to_it(lake: DuckDBEngine, tmp_path: Path) -> None:
    from huntwatch.hunting import run_hunts

    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    db.create_all()
    run_hunts(lake, db, "changed")  # the first-seen-executable analytic already names the program
    report, leads = find_anomalies(lake, db, "changed")
    assert report.skipped_covered == 1 and leads == []
