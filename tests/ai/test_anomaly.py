"""Anomaly leads fire on the lab's injected behaviour change and stay silent on the unchanged baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huntwatch.ai import find_anomalies
from huntwatch.ai.anomaly import HUNT_ID
from huntwatch.hunting import LeadCandidate, ensure_tenant, list_leads, save_candidates
from huntwatch.ingest import ingest_paths
from huntwatch.lab import GROUND_TRUTH, generate
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("anomaly")


@pytest.fixture(scope="module")
def lake(root: Path) -> DuckDBEngine:
    """The same organisation twice (same seed): once unchanged, once with the behaviour change."""
    engine = DuckDBEngine(root / "lake")
    for tenant, scenarios in (("baseline", []), ("changed", ["behaviour_change"])):
        manifest = generate(root / tenant, devices=12, days=3, scenarios=scenarios, seed=5)
        ingest_paths(engine, tenant, [manifest.telemetry_dir])
    return engine


def test_unchanged_baseline_raises_nothing(lake: DuckDBEngine) -> None:
    report, leads = find_anomalies(lake, None, "baseline")
    assert report.baseline_hours > 100 and report.device_hours > report.baseline_hours
    assert leads == [] and report.flagged == []


def test_injected_change_raises_a_lead_that_says_what_and_compared_to_what(
    lake: DuckDBEngine, root: Path, tmp_path: Path
) -> None:
    truth = json.loads((root / "changed" / GROUND_TRUTH).read_text())
    change = next(sc for sc in truth["scenarios"] if sc["id"] == "behaviour_change")
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    db.create_all()
    report, leads = find_anomalies(lake, db, "changed")
    assert len(leads) == 1
    lead = leads[0]
    assert lead.source == "anomaly" and lead.hunt_id == HUNT_ID
    assert lead.entities["device"] == [d.lower() for d in change["devices"]]
    assert change["first"][:13] <= lead.first_seen.isoformat()[:13] <= change["last"][:13]
    assert lead.details["new_programs"] and all(p.endswith(".exe") for p in lead.details["new_programs"])
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
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    db.create_all()
    _, found = find_anomalies(lake, None, "changed")
    hunt = LeadCandidate(
        hunt_id="some-hunt",
        source="hunt",
        title="a hunt already names this activity",
        severity="medium",
        confidence=0.7,
        tactics=["Execution"],
        techniques=[],
        first_seen=found[0].first_seen,
        last_seen=found[0].last_seen,
        evidence=found[0].evidence[:1],
        entities={"device": [f"{found[0].entities['device'][0]}.corp.example"]},
    )
    with db.session() as s:
        save_candidates(s, ensure_tenant(s, "changed").id, [hunt])
    report, leads = find_anomalies(lake, db, "changed")
    assert report.skipped_covered == 1 and leads == [] and report.added == 0


def test_cli_raises_and_stores_the_anomaly_lead(
    lake: DuckDBEngine, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from huntwatch.cli import main

    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUNTWATCH_LAKE", f"parquet:{root / 'lake'}")
    monkeypatch.delenv("HUNTWATCH_DATABASE_URL", raising=False)
    (tmp_path / "home").mkdir()
    out = CliRunner().invoke(main, ["model", "anomalies", "--tenant", "changed", "--format", "json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["added"] == 1 and len(body["leads"]) == 1 and body["flagged"][0]["device"]
