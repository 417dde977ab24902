from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from huntwatch.ai.features import FEATURE_NAMES, TenantCounts, device_role, lead_features, story_features
from huntwatch.state import Database, Lead, Story
from tests.ai.helpers import make_story


def test_device_roles_from_behaviour_then_names() -> None:
    assert device_role("DC-01.corp.example") == "dc"
    assert device_role("wks-0004", ["domain controller"]) == "dc"
    assert device_role("sql-01.corp.example") == "server"
    assert device_role("wks-0004.corp.example") == "workstation"


def test_story_features_cover_every_documented_feature(db: Database) -> None:
    sid = make_story(db, "acme", significance=70, severity="high", tactics=("Credential Access", "Execution"), n=3)
    with db.session() as s:
        story = s.get_one(Story, sid)
        story.scope = {
            **story.scope,
            "devices": [{"name": "dc-01", "roles": []}, {"name": "wks-0001", "roles": []}],
            "accounts": [{"name": "adm", "privileges": ["domain admin"]}],
            "lateral_movement": [{"source": "wks-0001", "target": "dc-01"}],
            "files": [{"prevalence": 1}, {"prevalence": 9}],
        }
        leads = list(s.query(Lead).filter_by(story_id=sid))
        f = story_features(story, leads, TenantCounts.load(s, story.tenant_id))
    assert set(f) == set(FEATURE_NAMES)
    assert f["prior"] == 70 and f["leads"] == 3 and f["max_severity"] == 3 and f["high_leads"] == 3
    assert f["tactics"] == 2 and f["kill_chain_span"] > 0
    assert f["domain_admin"] == 1 and f["on_dc"] == 1 and f["workstations"] == 1 and f["lateral_moves"] == 1
    assert f["first_seen_binaries"] == 1


@pytest.mark.parametrize(("days_apart", "routine"), [(1, True), (29, True), (45, False)])
def test_a_lead_that_recurs_on_another_day_nearby_gets_a_lower_prior(
    db: Database, days_apart: int, routine: bool
) -> None:
    first = make_story(db, "acme", significance=40, severity="critical", tactics=("Execution", "Impact"))
    later = make_story(db, "acme", significance=40, severity="critical", tactics=("Execution", "Impact"))
    with db.session() as s:
        for again in s.query(Lead).filter_by(story_id=later):  # alice's same hunt on another day
            again.first_seen += dt.timedelta(days=days_apart)
            again.last_seen += dt.timedelta(days=days_apart)
        s.flush()
        lead = s.query(Lead).filter_by(story_id=first).one()
        counts = TenantCounts.load(s, lead.tenant_id)
        assert len(counts.firings[(lead.hunt_id, "account:alice")]) == 2
        # the same window a story rebuild looks at: a firing six weeks away is not routine
        assert counts.routine_days(lead) == {(lead.hunt_id, "account:alice"): 2 if routine else 1}
        fresh = lead_features(lead, replace(counts, firings={}))["prior"]
        assert fresh > 30 and lead_features(lead, counts)["prior"] == (fresh - 30 if routine else fresh)


def test_a_lead_alone_gets_a_prior_from_the_stories_package(db: Database) -> None:
    sid = make_story(db, "acme", significance=10, severity="high", tactics=("Credential Access",))
    with db.session() as s:
        lead = s.query(Lead).filter_by(story_id=sid).one()
        f = lead_features(lead, TenantCounts.load(s, lead.tenant_id))
    assert set(f) == set(FEATURE_NAMES)
    assert f["leads"] == 1 and f["prior"] > 0 and f["devices"] == 1
