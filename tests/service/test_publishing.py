from __future__ import annotations

import re

import jsonschema
import pytest
from sqlalchemy import select

from huntwatch.service import Conflict, InvalidInput, NotFound, PermissionDenied, alerts, publishing
from huntwatch.service.export import to_ocsf, to_stix
from huntwatch.service.testing import enroll
from huntwatch.state import Alert, Story, StoryEvent, Tenant, TenantPolicy, Verdict


def test_queue_is_ranked_and_limited_to_enrolled_tenants(world):
    with world.db.session() as s:
        assert publishing.hunting_queue(s, world.actors["expert"]) == []
        with pytest.raises(PermissionDenied):
            publishing.hunting_queue(s, world.actors["a_admin"])
    enroll(world, world.a)
    with world.db.session() as s:
        queue = publishing.hunting_queue(s, world.actors["expert"])
        assert [st.id for st in queue] == [world.story, world.low_story]
        everything = publishing.hunting_queue(s, world.actors["provider_admin"])
        assert [st.id for st in everything] == [world.story, world.b_story, world.low_story]


def test_publish_creates_a_notification_alert_and_a_verdict(world):
    expert = world.actors["expert"]
    with world.db.session() as s, pytest.raises(NotFound):  # not enrolled: the expert cannot even see it
        publishing.publish(s, expert, world.story)
    enroll(world, world.a)
    with world.db.session() as s:
        story = s.get(Story, world.story)
        draft = publishing.draft_from_story(s, story)
        assert draft.severity == "critical"
        assert draft.techniques == ["T1003.001", "T1021.002"]
        assert "Lateral Movement" in draft.tactics
        assert draft.method_of_entry.startswith("User execution in an interactive session on ws001.tenant-a.test")
        assert any("ws001.tenant-a.test, ws002.tenant-a.test" in r for r in draft.recommendations)
        assert any("corp\\alice" in r for r in draft.recommendations)
        with pytest.raises(InvalidInput):
            publishing.publish(s, expert, world.story, {"colour": "red"})
        alert = publishing.publish(
            s, expert, world.story, {"title": "Hands-on-keyboard attack on ws001", "severity": "high"}, note="clear"
        )
        assert (alert.tag, alert.source, alert.severity, alert.tenant_id) == (
            "Endpoint Attack Notification",
            "Huntwatch Experts",
            "high",
            world.a,
        )
        assert [d["name"] for d in alert.scope["devices"]] == ["ws001.tenant-a.test", "ws002.tenant-a.test"]
        assert alert.queries and alert.timeline and len(alert.evidence) == 2
        assert alert.evidence[0]["key"] == "k0" and alert.executive_summary.startswith("An attacker")
        verdict = s.scalar(select(Verdict).where(Verdict.story_id == world.story))
        assert (verdict.verdict, verdict.actor) == ("confirmed_attack", "user:expert@provider.test")
        assert s.scalar(select(StoryEvent.action).where(StoryEvent.story_id == world.story)) == "published"
        with pytest.raises(Conflict):
            publishing.publish(s, expert, world.story)
        assert [st.id for st in publishing.hunting_queue(s, expert)] == [world.low_story]  # published ones leave
    with world.db.session() as s:
        page = alerts.list_alerts(s, world.actors["a_reader"])
        assert [a.title for a in page.items] == ["Hands-on-keyboard attack on ws001"] and page.total == 1
        assert alerts.list_alerts(s, world.actors["b_admin"]).total == 0


def test_switched_off_tenant_gets_no_notification(world):
    enroll(world, world.a)
    from huntwatch.service import enrollment

    with world.db.session() as s:
        enrollment.set_enabled(s, world.actors["a_admin"], world.a, False)
        with pytest.raises(Conflict):
            publishing.publish(s, world.actors["expert"], world.story)


def test_verdicts_without_publishing(world):
    enroll(world, world.a)
    with world.db.session() as s:
        publishing.record_verdict(s, world.actors["expert"], world.low_story, "benign_true_positive", "admin tool")
        with pytest.raises(InvalidInput):
            publishing.record_verdict(s, world.actors["expert"], world.low_story, "maybe")
        with pytest.raises(PermissionDenied):
            publishing.record_verdict(s, world.actors["a_admin"], world.low_story, "false_positive")
        got = publishing.list_verdicts(s, world.actors["a_reader"], world.a)
        assert [v.verdict for v in got] == ["benign_true_positive"]
        assert publishing.list_verdicts(s, world.actors["b_reader"]) == []


def test_auto_publish_follows_the_tenant_policy(world):
    enroll(world, world.a)
    with world.db.session() as s:
        assert publishing.auto_publish(s) == []  # no policy yet
        with pytest.raises(PermissionDenied):
            publishing.set_policy(s, world.actors["a_analyst"], world.a, 0.9)
        publishing.set_policy(s, world.actors["a_admin"], world.a, 0.9)
        assert s.get(TenantPolicy, world.a).auto_publish_min_score == 0.9
        published = publishing.auto_publish(s)
        assert [a.story_id for a in published] == [world.story]
        assert s.scalar(select(Verdict).where(Verdict.story_id == world.story)) is None  # no human judged it
        assert publishing.auto_publish(s) == []  # once only


def test_alert_queue_filters_sorts_pages_and_status(world):
    for _ in range(3):
        with world.db.session() as s:
            publishing.generate_sample(s, world.actors["a_admin"], world.a)
    enroll(world, world.a)
    with world.db.session() as s:
        publishing.publish(s, world.actors["expert"], world.story, {"severity": "critical"})
    with world.db.session() as s:
        reader = world.actors["a_reader"]
        page = alerts.list_alerts(s, reader, alerts.AlertFilter(), sort="-severity", page=1, page_size=2)
        assert page.total == 4 and len(page.items) == 2 and page.items[0].severity == "critical"
        page2 = alerts.list_alerts(s, reader, alerts.AlertFilter(), sort="-severity", page=2, page_size=2)
        assert {a.id for a in page.items}.isdisjoint({a.id for a in page2.items})
        assert alerts.list_alerts(s, reader, alerts.AlertFilter(include_samples=False)).total == 1
        assert alerts.list_alerts(s, reader, alerts.AlertFilter(severity="high")).total == 3
        with pytest.raises(InvalidInput):
            alerts.list_alerts(s, reader, sort="tenant_id")
        first = page.items[0]
        with pytest.raises(PermissionDenied):
            alerts.set_status(s, reader, first.id, "resolved")
        with pytest.raises(NotFound):
            alerts.set_status(s, world.actors["b_admin"], first.id, "resolved")
        alerts.set_status(s, world.actors["a_analyst"], first.id, "in_progress")
        assert alerts.list_alerts(s, reader, alerts.AlertFilter(status="in_progress")).total == 1


OCSF_SHAPE = {
    "type": "object",
    "required": ["class_uid", "category_uid", "activity_id", "type_uid", "time", "severity_id", "metadata",
                 "finding_info"],
    "properties": {
        "class_uid": {"const": 2004},
        "category_uid": {"const": 2},
        "type_uid": {"const": 200401},
        "severity_id": {"enum": [0, 1, 2, 3, 4, 5, 6, 99]},
        "time": {"type": "integer"},
        "metadata": {"type": "object", "required": ["version", "product"]},
        "finding_info": {"type": "object", "required": ["uid", "title"]},
    },
}  # fmt: skip
STIX_ID = re.compile(r"^[a-z][a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STIX_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_exports_ocsf_and_stix(world):
    enroll(world, world.a)
    with world.db.session() as s:
        alert = publishing.publish(s, world.actors["expert"], world.story)
        tenant = s.get(Tenant, world.a)
        finding = to_ocsf(alert, tenant)
        bundle = to_stix(alert, tenant)
        again = to_stix(s.get(Alert, alert.id), tenant)
    jsonschema.validate(finding, OCSF_SHAPE)
    assert finding["severity_id"] == 5 and finding["metadata"]["tenant_uid"] == "tenant-a"
    attacks = finding["finding_info"]["attacks"]
    assert {"uid": "T1003.001", "name": "LSASS Memory"} in [a.get("technique") for a in attacks]
    assert {"type": "device", "name": "ws001.tenant-a.test"} in finding["resources"]

    assert bundle["type"] == "bundle" and STIX_ID.match(bundle["id"])
    assert bundle == again  # stable ids: receivers can de-duplicate
    ids = {o["id"] for o in bundle["objects"]}
    by_type: dict[str, list] = {}
    for obj in bundle["objects"]:
        assert obj["spec_version"] == "2.1" and STIX_ID.match(obj["id"]) and obj["id"].startswith(obj["type"] + "--")
        assert STIX_TIME.match(obj["created"]) and STIX_TIME.match(obj["modified"])
        by_type.setdefault(obj["type"], []).append(obj)
    report = by_type["report"][0]
    assert report["name"] == alert.title and set(report["object_refs"]) <= ids
    assert {p["external_references"][0]["external_id"] for p in by_type["attack-pattern"]} == {"T1003.001", "T1021.002"}
    assert by_type["indicator"][0]["pattern"] == f"[file:hashes.'SHA-256' = '{'a' * 64}']"
    for rel in by_type["relationship"]:
        assert rel["source_ref"] in ids and rel["target_ref"] in ids


def test_expert_takes_and_releases_a_story(world):
    enroll(world, world.a)
    from huntwatch.service import accounts
    from huntwatch.service.access import Actor

    with world.db.session() as s:
        other = accounts.actor_for_user(
            accounts.create_user(s, Actor.system(), "expert2@provider.test", world.password, "expert")
        )
        story = publishing.take(s, world.actors["expert"], world.story)
        assert story.assigned_to == "user:expert@provider.test" and story.assigned_at is not None
        publishing.take(s, world.actors["expert"], world.story)  # taking twice is harmless
        with pytest.raises(Conflict):
            publishing.take(s, other, world.story)
        with pytest.raises(Conflict):
            publishing.release(s, other, world.story)
        with pytest.raises(PermissionDenied):
            publishing.take(s, world.actors["a_admin"], world.story)
        publishing.release(s, world.actors["provider_admin"], world.story)
        assert publishing.take(s, other, world.story).assigned_to == "user:expert2@provider.test"
        actions = s.scalars(select(StoryEvent.action).where(StoryEvent.story_id == world.story)).all()
        assert actions == ["taken", "released", "taken"]
