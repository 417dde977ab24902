"""Experts on demand in the service: asking, snapshots, the lifecycle, attachments, isolation, case updates."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from huntwatch.service import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    cases,
    delivering,
    enrollment,
    publishing,
    snapshots,
)
from huntwatch.service.access import Actor
from huntwatch.service.cases import AttachmentLimits, CaseFilter
from huntwatch.service.testing import enroll
from huntwatch.state import Alert, Tenant, utcnow
from huntwatch.state.models import Case, CaseStatusChange
from tests.delivery.conftest import SECRET, smtp_receiver, webhook_receiver  # noqa: F401  (fixtures)
from tests.web.pages.world import EVIL_DEVICE, EVIL_SHA, telemetry

SYSTEM = Actor.system("test")


@pytest.fixture
def eod(world):  # type: ignore[no-untyped-def]
    """The service world with telemetry in both lakes, tenant A enrolled and both tenants subscribed."""
    now = utcnow().replace(microsecond=0)
    world.engine.append("tenant-a", telemetry("tenant-a", EVIL_DEVICE, EVIL_SHA, now - dt.timedelta(hours=1)))
    world.engine.append("tenant-b", telemetry("tenant-b", "b-host", EVIL_SHA, now - dt.timedelta(hours=1)))
    enroll(world, world.a)
    with world.db.session() as s:
        for tid in (world.a, world.b):
            enrollment.add_subscription(s, SYSTEM, tid, now - dt.timedelta(days=1))
    return world


def _ask(w, who: str = "a_admin", tenant: int | None = None, **kw):  # type: ignore[no-untyped-def]
    args = {"category": "device_behaviour", "question": "Is this normal?", "correspondence_email": "soc@a.test"}
    args.update(kw)
    with w.db.session() as s:
        return cases.ask(s, w.actors[who], tenant or w.a, engine=w.engine, **args).id


def _status(w, case_id: int) -> str:  # type: ignore[no-untyped-def]
    with w.db.session() as s:
        return s.get(Case, case_id).status


def test_asking_needs_a_subscription_and_the_admin_role(world):
    w = world
    with w.db.session() as s:
        state = cases.ask_state(s, w.actors["a_admin"], w.a)
        assert not state.allowed and not state.subscribed and "subscri" in state.reason
        assert "not incident response" in state.not_incident_response
        with pytest.raises(PermissionDenied, match="subscri"):
            cases.ask(s, w.actors["a_admin"], w.a, category="threat_intelligence", question="q",
                      correspondence_email="a@a.test")  # fmt: skip
        enrollment.add_subscription(s, SYSTEM, w.a, utcnow() - dt.timedelta(days=1))
        assert cases.ask_state(s, w.actors["a_admin"], w.a).allowed
        analyst = cases.ask_state(s, w.actors["a_analyst"], w.a)
        assert analyst.subscribed and not analyst.allowed and "admin" in analyst.reason
        for who in ("a_analyst", "a_reader"):
            with pytest.raises(PermissionDenied):
                cases.ask(s, w.actors[who], w.a, category="threat_intelligence", question="q",
                          correspondence_email="a@a.test")  # fmt: skip
        with pytest.raises(NotFound):  # another tenant's admin
            cases.ask(s, w.actors["b_admin"], w.a, category="threat_intelligence", question="q",
                      correspondence_email="a@a.test")  # fmt: skip
        for bad in ({"category": "nope"}, {"question": " "}, {"correspondence_email": "not-an-address"}):
            args = {"category": "threat_intelligence", "question": "q", "correspondence_email": "a@a.test", **bad}
            with pytest.raises(InvalidInput):
                cases.ask(s, w.actors["a_admin"], w.a, **args)
        question = "What do you know about FIN7?\nDetails follow."
        case = cases.ask(
            s, w.actors["a_admin"], w.a, category="threat_intelligence", question=question, correspondence_email="a@a.t"
        )
        assert case.status == "submitted" and case.topic == "What do you know about FIN7?"
        assert case.sla["first_response_days"] == 2.0 and case.sla["weekend"] == [6, 7]


def test_snapshots_of_device_alert_and_file_with_first_look(eod):
    w = eod
    dev = _ask(w, context_kind="device", context_ref=EVIL_DEVICE)
    with w.db.session() as s:
        alert_id = publishing.publish(s, w.actors["expert"], w.story).id
    alert = _ask(w, category="alert_clarification", context_kind="alert", context_ref=str(alert_id))
    file = _ask(w, context_kind="file", context_ref=EVIL_SHA.upper())
    with w.db.session() as s:
        d, a, f = s.get(Case, dev), s.get(Case, alert), s.get(Case, file)
        assert d.topic == f"Device {EVIL_DEVICE}" and d.topic_link.startswith("/devices/")
        assert d.snapshot["device"]["name"] == EVIL_DEVICE and d.snapshot["device"]["events"] > 0
        assert d.snapshot["last_24h"]["events"]["DeviceProcessEvents"] == 3
        assert d.snapshot["last_24h"]["top_processes"][0]["count"] == 3
        assert a.topic_link == f"/alerts/{alert_id}" and a.story_id == w.story and a.alert_id == alert_id
        assert a.snapshot["story"]["id"] == w.story and len(a.snapshot["story"]["leads"]) == 2
        assert a.snapshot["scope"]["devices"] and a.snapshot["alert"]["title"]
        chain = a.first_look["root_cause_candidates"]
        assert chain[0]["device"] == "ws001.tenant-a.test" and len(chain) == 3
        assert {b["hunt_id"] for b in a.first_look["cross_tenant"]["behaviours"]} == {"hunt-0", "hunt-1"}
        assert f.context_ref == EVIL_SHA and f.snapshot["file"]["device_count"] == 1
        assert f.snapshot["paths"] and f.first_look["root_cause_candidates"][0]["device"] == EVIL_DEVICE
        # seen in tenant B too: counted, never named
        assert f.first_look["cross_tenant"]["file"] == {"other_tenants": 1, "devices": 1}
        assert "tenant-b" not in str(f.first_look) and "b-host" not in str(f.first_look)
        with pytest.raises(NotFound):  # a provider admin asking for tenant B about tenant A's alert
            cases.ask(s, SYSTEM, w.b, category="alert_clarification", question="q", correspondence_email="a@a.test",
                      context_kind="alert", context_ref=str(alert_id), engine=w.engine)  # fmt: skip
        with pytest.raises(NotFound):
            cases.ask(s, w.actors["a_admin"], w.a, category="device_behaviour", question="q",
                      correspondence_email="a@a.test", context_kind="device", context_ref="b-host",
                      engine=w.engine)  # fmt: skip


def test_snapshot_stays_as_asked_when_the_data_changes(eod):
    w = eod
    dev = _ask(w, context_kind="device", context_ref=EVIL_DEVICE)
    file = _ask(w, context_kind="file", context_ref=EVIL_SHA)
    with w.db.session() as s:
        before = (s.get(Case, dev).snapshot, s.get(Case, file).snapshot)
    later = utcnow().replace(microsecond=0)
    fresh = {
        k: v for k, v in telemetry("tenant-a", EVIL_DEVICE, EVIL_SHA, later, devices=6).items() if k != "RawEvents"
    }
    w.engine.append(
        "tenant-a",
        {
            k: v.set_column(
                v.schema.get_field_index("EventKey"), "EventKey", pa.array([f"new-{i}" for i in range(v.num_rows)])
            )
            for k, v in fresh.items()
        },
    )
    with w.db.session() as s:
        for a in s.query(Alert).filter(Alert.tenant_id == w.a):
            a.title = "renamed"
    with w.db.session() as s:
        assert (s.get(Case, dev).snapshot, s.get(Case, file).snapshot) == before
        # while the live pages have moved on
        tenant = s.get(Tenant, w.a)
        live = snapshots.device_snapshot(s, w.actors["a_admin"], w.engine, tenant, EVIL_DEVICE)
        assert (
            live["last_24h"]["events"]["DeviceProcessEvents"]
            == 6
            != before[0]["last_24h"]["events"]["DeviceProcessEvents"]
        )
        assert snapshots.file_snapshot(s, w.actors["a_admin"], w.engine, tenant, EVIL_SHA)["file"] != before[1]["file"]


def test_every_lifecycle_transition_and_the_illegal_ones(eod):
    w = eod
    expert, admin = w.actors["expert"], w.actors["a_admin"]
    cid = _ask(w)
    with w.db.session() as s:
        with pytest.raises(Conflict, match="cannot go from submitted to resolved"):
            cases.set_status(s, expert, cid, "resolved")
        with pytest.raises(Conflict):
            cases.set_status(s, admin, cid, "waiting_on_customer")
        with pytest.raises(PermissionDenied):  # only experts take cases
            cases.set_status(s, admin, cid, "in_progress")
        with pytest.raises(InvalidInput):
            cases.set_status(s, expert, cid, "bogus")
        cases.set_status(s, expert, cid, "in_progress")
        assert s.get(Case, cid).assigned_to == expert.label
        with pytest.raises(Conflict):
            cases.set_status(s, expert, cid, "submitted")
        with pytest.raises(PermissionDenied):  # the customer cannot put the case on themselves
            cases.set_status(s, admin, cid, "waiting_on_customer")
        cases.progress_report(s, expert, cid, "more_information_needed", "Which user ran it?")
        assert s.get(Case, cid).status == "waiting_on_customer" and s.get(Case, cid).first_response_at
        cases.reply(s, admin, cid, "Alice did.")
        assert s.get(Case, cid).status == "in_progress"
        cases.set_status(s, expert, cid, "waiting_on_customer", "need logs")
        cases.set_status(s, admin, cid, "in_progress", "logs sent")
        cases.progress_report(s, expert, cid, "more_time_needed", "Still looking.")
        assert s.get(Case, cid).status == "in_progress"
        cases.progress_report(s, expert, cid, "concluded", "Benign: a backup tool.")
        assert s.get(Case, cid).status == "resolved" and s.get(Case, cid).resolved_at
        with pytest.raises(Conflict, match="reopen"):
            cases.reply(s, admin, cid, "one more thing")
        with pytest.raises(Conflict):
            cases.progress_report(s, expert, cid, "concluded", "again")
        with pytest.raises(PermissionDenied):  # reopening is the customer's call
            cases.set_status(s, expert, cid, "in_progress")
        cases.set_status(s, admin, cid, "in_progress", "not convinced")
        cases.set_status(s, expert, cid, "resolved")
        cases.set_status(s, admin, cid, "closed")
        with pytest.raises(Conflict, match="cannot go from closed to resolved"):
            cases.set_status(s, expert, cid, "resolved")
        assert s.get(Case, cid).closed_at
        # reopen from closed within the window, then too late
        cases.set_status(s, admin, cid, "in_progress")
        cases.set_status(s, expert, cid, "resolved")
        cases.set_status(s, expert, cid, "closed")
        late = utcnow() + dt.timedelta(days=15)
        with pytest.raises(Conflict, match="within 14 days"):
            cases.set_status(s, admin, cid, "in_progress", now=late)
        with pytest.raises(PermissionDenied):
            cases.set_status(s, w.actors["a_reader"], cid, "in_progress")
        steps = [(c.from_status, c.to_status) for c in cases.history(s, admin, cid)]
    assert steps == [
        (None, "submitted"), ("submitted", "in_progress"), ("in_progress", "waiting_on_customer"),
        ("waiting_on_customer", "in_progress"), ("in_progress", "waiting_on_customer"),
        ("waiting_on_customer", "in_progress"), ("in_progress", "resolved"), ("resolved", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "closed"), ("closed", "in_progress"), ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]  # fmt: skip
    withdrawn = _ask(w)
    with w.db.session() as s:
        cases.set_status(s, admin, withdrawn, "closed", "asked by mistake")
    assert _status(w, withdrawn) == "closed"


def test_queue_sorted_by_time_left_with_filters_and_breach_flags(eod):
    w = eod
    expert = w.actors["expert"]
    old, new, waiting = _ask(w, question="old one"), _ask(w, question="new one"), _ask(w, question="waiting one")
    with w.db.session() as s:
        long_ago = utcnow() - dt.timedelta(days=9)
        s.get(Case, old).created_at = long_ago
        s.query(CaseStatusChange).filter(CaseStatusChange.case_id == old).update({"at": long_ago})
        cases.progress_report(s, expert, waiting, "file_samples_needed", "Send the file zipped.")
    with w.db.session() as s:
        queue = cases.list_cases(s, expert, CaseFilter(sort="time_left"))
        assert [v.case.id for v in queue] == [old, new, waiting]
        assert queue[0].sla_state == "breached" and queue[0].clock.breached
        assert queue[2].sla_state == "paused" and queue[2].clock.name == "resolution"
        assert [v.case.id for v in cases.list_cases(s, expert, CaseFilter(sla="breached"))] == [old]
        assert [v.case.id for v in cases.list_cases(s, expert, CaseFilter(topic="waiting"))] == [waiting]
        assert [v.case.id for v in cases.list_cases(s, expert, CaseFilter(statuses=("waiting_on_customer",)))] == [
            waiting
        ]
        assert {v.case.id for v in cases.list_cases(s, expert, CaseFilter(assigned_to=""))} == {old, new}
        assert cases.list_cases(s, expert, CaseFilter(tenant_id=w.a))
        with pytest.raises(NotFound):  # tenant B is not enrolled: experts do not see it
            cases.list_cases(s, expert, CaseFilter(tenant_id=w.b))
        with pytest.raises(InvalidInput):
            cases.list_cases(s, expert, CaseFilter(sla="late"))


def test_sla_policy_per_plan_is_frozen_into_new_cases(eod):
    w = eod
    with w.db.session() as s:
        with pytest.raises(PermissionDenied):
            cases.set_sla_policy(s, w.actors["expert"], "standard", first_response_days=1)
        with pytest.raises(InvalidInput):
            cases.set_sla_policy(s, SYSTEM, "standard", first_response_days=3, resolution_days=1)
        cases.set_sla_policy(s, SYSTEM, "standard", first_response_days=1, resolution_days=5, reopen_days=3,
                             weekend=[5, 6], holidays=["2026-12-25"])  # fmt: skip
        assert cases.tenant_sla(s, w.actors["a_reader"], w.a)["first_response_days"] == 1
        assert [p["plan"] for p in cases.list_sla_policies(s, w.actors["expert"])] == ["standard"]
        with pytest.raises(NotFound):
            cases.tenant_sla(s, w.actors["a_reader"], w.b)
    cid = _ask(w)
    with w.db.session() as s:
        assert s.get(Case, cid).sla == {"plan": "standard", "first_response_days": 1.0, "resolution_days": 5.0,
                                        "reopen_days": 3, "weekend": [5, 6], "holidays": ["2026-12-25"]}  # fmt: skip


def test_cases_and_attachments_are_tenant_isolated(eod, tmp_path):
    w = eod
    root = tmp_path / "att"
    a_case = _ask(w)
    b_case = _ask(w, who="b_admin", tenant=w.b)
    with w.db.session() as s:
        att = cases.add_attachment(s, w.actors["a_admin"], a_case, "proc.csv", b"a,b\n1,2\n", root=root)
        assert (root / "tenant-a" / att.stored_name).read_bytes() == b"a,b\n1,2\n"
        for who in ("b_admin", "b_reader"):
            with pytest.raises(NotFound):
                cases.get_case(s, w.actors[who], a_case)
            with pytest.raises(NotFound):
                cases.read_attachment(s, w.actors[who], att.id, root=root)
            with pytest.raises(NotFound):
                cases.add_attachment(s, w.actors[who], a_case, "x.txt", b"x", root=root)
            with pytest.raises(NotFound):
                cases.reply(s, w.actors[who], a_case, "hello")
            assert a_case not in [v.case.id for v in cases.list_cases(s, w.actors[who])]
        assert cases.read_attachment(s, w.actors["a_reader"], att.id, root=root)[1] == b"a,b\n1,2\n"
        assert [v.case.id for v in cases.list_cases(s, w.actors["a_reader"])] == [a_case]
        with pytest.raises(NotFound):  # experts work enrolled tenants only
            cases.get_case(s, w.actors["expert"], b_case)
        assert cases.get_case(s, w.actors["provider_admin"], b_case).tenant_id == w.b
        with pytest.raises(PermissionDenied):  # readers see, but do not write
            cases.reply(s, w.actors["a_reader"], a_case, "hello")


def test_attachment_limits(eod, tmp_path):
    w = eod
    cid = _ask(w)
    admin, root = w.actors["a_admin"], tmp_path / "att"
    small = AttachmentLimits(max_bytes=100, max_per_case=2)
    with w.db.session() as s:
        for name, data, why in [
            ("sample.exe", b"MZ" + b"\0" * 10, "zipped"),
            ("big.txt", b"x" * 101, "limited"),
            ("fake.pdf", b"MZ not a pdf", "not PDF"),
            ("bin.txt", b"\xff\xfe\x00", "UTF-8"),
            ("empty.txt", b"", "empty"),
            (".htaccess", b"x", "name"),
        ]:
            with pytest.raises(InvalidInput, match=why):
                cases.add_attachment(s, admin, cid, name, data, root=root, limits=small)
        one = cases.add_attachment(s, admin, cid, "../../etc/sample.zip", b"PK\x03\x04rest", root=root, limits=small)
        assert one.filename == "sample.zip" and one.content_type == "application/zip" and one.size == 8
        cases.add_attachment(s, w.actors["expert"], cid, "notes.txt", "é".encode(), root=root, limits=small)
        with pytest.raises(InvalidInput, match="at most 2"):
            cases.add_attachment(s, admin, cid, "third.txt", b"x", root=root, limits=small)
        assert sorted(p.name for p in (root / "tenant-a").iterdir()) == sorted(
            a.stored_name for a in cases.list_attachments(s, admin, cid)
        )
    with pytest.raises(RuntimeError), w.db.session() as s:  # a failed transaction leaves no file behind
        cases.add_attachment(s, admin, cid, "late.txt", b"x", root=root, limits=AttachmentLimits())
        raise RuntimeError("later step failed")
    with w.db.session() as s:
        assert len(list((root / "tenant-a").iterdir())) == len(cases.list_attachments(s, admin, cid)) == 2


def test_expert_tools_templates_links_and_publishing_an_answer(eod):
    w = eod
    expert = w.actors["expert"]
    cid = _ask(w, category="alert_clarification")
    with w.db.session() as s:
        with pytest.raises(PermissionDenied):
            cases.create_template(s, expert, "t", "b")
        tpl = cases.create_template(s, SYSTEM, "Benign admin tool", "This is a known admin tool.", "concluded")
        assert [t.id for t in cases.list_templates(s, expert)] == [tpl.id]
        with pytest.raises(PermissionDenied):
            cases.list_templates(s, w.actors["a_admin"])
        with pytest.raises(NotFound):  # another tenant's story
            cases.link(s, expert, cid, story_id=w.b_story)
        msg = cases.progress_report(s, expert, cid, "concluded", "This was an attack: credential theft on ws001.")
        with pytest.raises(Conflict, match="link"):
            cases.publish_answer(s, expert, cid, msg.id)
        cases.link(s, expert, cid, story_id=w.story)
        alert = cases.publish_answer(s, expert, cid, msg.id, {"title": "Credential theft found through a case"})
        assert alert.executive_summary.startswith("This was an attack") and s.get(Case, cid).alert_id == alert.id
        with pytest.raises(Conflict):  # one notification per story
            cases.publish_answer(s, expert, cid, msg.id)
        cases.delete_template(s, SYSTEM, tpl.id)


def test_expert_replies_reach_the_customer_by_email_and_webhook(eod, smtp_receiver, webhook_receiver):  # noqa: F811
    w = eod
    cid = _ask(w, correspondence_email="case-owner@a.test")
    with w.db.session() as s:
        delivering.save_setting(s, w.actors["a_admin"], w.a, "webhook", {"url": webhook_receiver.url, "secret": SECRET})
        delivering.save_setting(s, w.actors["a_admin"], w.a, "email", {
            "host": smtp_receiver.host, "port": smtp_receiver.port, "sender": "hw@provider.test",
            "recipients": ["soc-list@a.test"]})  # fmt: skip
        customer = cases.reply(s, w.actors["a_admin"], cid, "Any news?")
        answer = cases.progress_report(s, w.actors["expert"], cid, "file_samples_needed", "Send <b>the</b> file.")
    assert cases.deliver_update(w.db, customer.id) == []  # customers' own messages are not echoed to them
    logs = cases.deliver_update(w.db, answer.id, attempts=1, base_url="https://hw.example")
    assert sorted((x.channel, x.status) for x in logs) == [("email", "delivered"), ("webhook", "delivered")]
    assert smtp_receiver.envelopes[0].rcpt_tos == ["case-owner@a.test"]
    mail = smtp_receiver.envelopes[0].content.decode()
    assert "File samples needed" in mail and "&lt;b&gt;the&lt;/b&gt;" in mail and "not incident response" in mail
    hook = webhook_receiver.requests[0]
    assert hook["valid"] and hook["json"]["kind"] == "case_update" and hook["json"]["data"]["case_id"] == cid
    with w.db.session() as s:
        shown = cases.case_deliveries(s, w.actors["a_admin"], cid)
        assert len(shown) == 2 and all(d.tenant_id == w.a for d in shown)
        with pytest.raises(PermissionDenied):
            cases.case_deliveries(s, w.actors["a_reader"], cid)
