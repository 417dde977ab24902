"""End to end on real recordings: ingest, hand-made leads over real events, correlate, show, merge, split."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine
from huntwatch.schema import arrow_schema
from huntwatch.state import Database, Lead, Story, StoryEvent, StoryLead, Tenant
from huntwatch.stories.service import correlate, list_stories, merge, split, story_document
from huntwatch.stories.timeline import fetch_events

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "datasets" / "evtx-to-mitre-attack"
APT = DATA / "EVTX_full_APT_attack_steps"
SERVICE_OVER_SMB = APT / "ID5140-5145,4688,4697-Encrypted payload deployed with service over SMB (GLOBAL).evtx.gz"
ETERNAL_ROMANCE = APT / "ID4624,4688,5140,5145-Eternal Romance - MS17_010_psexec (GLOBAL).evtx.gz"
SAM_THE_ADMIN = APT / "ID47x,4661-4662,5136,4688,4697-SAM the admin (CVE-2021-42287).evtx.gz"
SCHEMA = json.loads((REPO / "docs" / "story.schema.json").read_text())

pytestmark = pytest.mark.skipif(not APT.exists(), reason="shared datasets not present")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DuckDBEngine, Database]:
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_all()
    return DuckDBEngine(tmp_path / "lake"), db


def tenant(db: Database, slug: str) -> int:
    with db.session() as s:
        t = Tenant(slug=slug, name=slug)
        s.add(t)
        s.flush()
        return t.id


def keys_where(engine: DuckDBEngine, slug: str, sql: str) -> list[str]:
    return [r["EventKey"] for r in engine.query(sql, slug).to_pylist()]


def add_lead(
    engine: DuckDBEngine,
    db: Database,
    slug: str,
    hunt: str,
    keys: list[str],
    *,
    severity: str = "high",
    tactics: tuple[str, ...] = (),
    techniques: tuple[str, ...] = (),
    entities: dict[str, list[str]] | None = None,
) -> int:
    """A lead as a hunt would write it: entities read off the real events its evidence names."""
    con = engine.connect(slug)
    events = fetch_events(con, {k: [] for k in keys})
    con.close()
    assert len(events) == len(keys)
    if entities is None:
        ents: dict[str, set[str]] = {"device": set(), "account": set(), "logon": set(), "remote_ip": set()}
        for e in events:
            r = e.row
            ents["device"].add(e.device)
            for col in ("AccountName", "InitiatingProcessAccountName"):
                if r.get(col):
                    ents["account"].add(r[col])
            if r.get("LogonId"):
                ents["logon"].add(r["LogonId"])
            for col in ("RemoteIP", "RequestSourceIP"):
                if r.get(col):
                    ents["remote_ip"].add(r[col])
        entities = {k: sorted(v) for k, v in ents.items() if v}
    with db.session() as s:
        t = s.scalar(select(Tenant).where(Tenant.slug == slug))
        lead = Lead(
            tenant_id=t.id,
            hunt_id=hunt,
            source="hunt",
            title=hunt.replace("_", " "),
            severity=severity,
            tactics=list(tactics),
            techniques=list(techniques),
            entities=entities,
            evidence=[{"table": e.table, "key": e.event_key} for e in events],
            first_seen=events[0].time,
            last_seen=events[-1].time,
            dedup_key=hunt + keys[0],
        )
        s.add(lead)
        s.flush()
        return lead.id


def service_story_leads(engine: DuckDBEngine, db: Database, slug: str) -> list[int]:
    ingest_paths(engine, slug, [SERVICE_OVER_SMB])
    return [
        add_lead(
            engine,
            db,
            slug,
            "admin_share_from_remote",
            keys_where(engine, slug, "SELECT EventKey FROM DeviceFileEvents WHERE ShareName ILIKE '%ADMIN$'"),
            tactics=("lateral-movement",),
            techniques=("T1021.002",),
        ),
        add_lead(
            engine,
            db,
            slug,
            "service_installed_by_network_logon",
            keys_where(engine, slug, "SELECT EventKey FROM DeviceEvents WHERE ActionType = 'ServiceInstalled'"),
            severity="critical",
            tactics=("TA0003", "TA0002"),
            techniques=("T1543.003", "T1569.002"),
        ),
        add_lead(
            engine,
            db,
            slug,
            "hidden_powershell_from_cmd",
            keys_where(
                engine,
                slug,
                "SELECT EventKey FROM DeviceProcessEvents WHERE FileName = 'powershell.exe' "
                "AND ProcessCommandLine ILIKE '%-w hidden%' AND Timestamp < TIMESTAMP '2021-04-21 14:57:00'",
            ),
            tactics=("execution",),
            techniques=("T1059.001",),
        ),
    ]


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Story)),
            s.scalar(select(func.count()).select_from(StoryLead)),
            s.scalar(select(func.count()).select_from(StoryEvent)),
        )


@pytest.mark.slow
def test_multi_step_recording_is_one_story_with_the_right_scope(env) -> None:
    engine, db = env
    tenant(db, "apt")
    lead_ids = service_story_leads(engine, db, "apt")
    report = correlate(engine, db, "apt")
    assert report.new_leads == 3 and len(report.stories_created) == 1
    doc = story_document(db, report.stories_created[0])
    jsonschema.validate(doc, SCHEMA)
    scope = doc["scope"]
    assert [d["name"] for d in scope["devices"]] == ["srvdefender01.offsec.lan"]
    assert "admmig" in [a["name"] for a in scope["accounts"]]
    assert sorted(lead["id"] for lead in doc["leads"]) == sorted(lead_ids)
    assert [t["tactic"] for t in scope["tactics"]] == ["execution", "persistence", "lateral-movement"]
    assert scope["root"]["device"] == "srvdefender01.offsec.lan"
    assert "ADMIN$ from 10.23.123.11" in scope["root"]["method_of_entry"]
    assert "a service" in scope["root"]["method_of_entry"]
    assert "10.23.123.11" in [a["address"] for a in scope["remote_addresses"]]
    # The timeline holds every evidence event, in order, and the process tree shows cmd → powershell.
    times = [e["time"] for e in doc["timeline"]]
    assert times == sorted(times)
    assert sum(1 for e in doc["timeline"] if e["key"]) >= 4
    tree = json.dumps(doc["process_trees"])
    assert "cmd.exe" in tree and "powershell.exe" in tree and "services.exe" in tree
    reasons = [lead["reason"]["entity"] for lead in doc["leads"]]
    assert reasons.count("seed") == 1 and set(reasons) - {"seed"} <= {"device", "account", "logon", "remote_ip"}
    sig = scope["significance"]
    assert set(sig["components"]) == {"kill_chain", "spread", "privilege", "rarity", "severity", "routine"}
    assert sig["components"]["routine"] == 0  # one recording, one day: nothing recurs
    assert 0 < doc["significance"] <= 100 and sig["ranked"]
    assert "srvdefender01.offsec.lan" in doc["summary"] and doc["queries"]
    # The reproducing queries run on the tenant's data and return the key events.
    key_query = doc["queries"][0]["sql"]
    assert engine.query(key_query, "apt").num_rows == sum(1 for e in doc["timeline"] if e["key"])

    before = counts(db)
    again = correlate(engine, db, "apt")
    assert again.new_leads == 0 and not again.stories_created and not again.stories_extended
    assert counts(db) == before


@pytest.mark.slow
def test_two_unrelated_recordings_make_two_stories_and_merge_split_keep_history(env) -> None:
    engine, db = env
    tenant(db, "two")
    service_story_leads(engine, db, "two")
    ingest_paths(engine, "two", [SAM_THE_ADMIN])
    sam = add_lead(
        engine,
        db,
        "two",
        "sam_account_renamed_service",
        keys_where(
            engine,
            "two",
            "SELECT EventKey FROM DeviceEvents WHERE ActionType = 'ServiceInstalled' AND DeviceName LIKE 'rootdc1%'",
        ),
        tactics=("privilege-escalation",),
        techniques=("T1068",),
    )
    report = correlate(engine, db, "two")
    assert len(report.stories_created) == 2
    rows = list_stories(db, "two")
    assert len(rows) == 2
    first, second = sorted(r["id"] for r in rows)

    target = merge(engine, db, [first, second], "expert@provider")
    doc = story_document(db, target)
    assert len(doc["leads"]) == 4 and len(doc["scope"]["devices"]) == 2
    assert story_document(db, second)["status"] == "merged"
    assert story_document(db, second)["merged_into"] == target

    new = split(engine, db, target, [sam], "expert@provider")
    assert [lead["id"] for lead in story_document(db, new)["leads"]] == [sam]
    actions = [h["action"] for h in story_document(db, target)["history"]]
    assert actions == ["created", "merged", "split"]
    assert [h["action"] for h in story_document(db, new)["history"]] == ["split_from"]
    assert story_document(db, new)["leads"][0]["reason"]["entity"] == "split"
    # After an expert split, a rerun must not glue the story back together.
    before = counts(db)
    correlate(engine, db, "two")
    assert counts(db) == before


def _lateral_tenant(engine: DuckDBEngine, db: Database, slug: str, *, attacker_address: bool) -> None:
    tenant(db, slug)
    ingest_paths(engine, slug, [ETERNAL_ROMANCE])
    t = dt.datetime(2021, 4, 22, 8, 45)
    rows = {c: [None] for c in arrow_schema("DeviceProcessEvents").names}
    rows.update(
        TenantId=[slug],
        EventKey=["kali-1"],
        Timestamp=[t],
        DeviceName=["kali-ws.offsec.lan"],
        ActionType=["ProcessCreated"],
        FileName=["python3.exe"],
        ProcessId=[4242],
        ProcessCommandLine=["python3 zzz_exploit.py 10.23.23.9"],
        AccountName=["attacker"],
    )
    tables = {"DeviceProcessEvents": pa.table(rows, schema=arrow_schema("DeviceProcessEvents"))}
    if attacker_address:
        net = {c: [None] for c in arrow_schema("DeviceNetworkEvents").names}
        net.update(
            TenantId=[slug],
            EventKey=["kali-2"],
            Timestamp=[t],
            DeviceName=["kali-ws.offsec.lan"],
            ActionType=["ConnectionSuccess"],
            LocalIP=["10.23.123.11"],
            RemoteIP=["10.23.23.9"],
            RemotePort=[445],
        )
        tables["DeviceNetworkEvents"] = pa.table(net, schema=arrow_schema("DeviceNetworkEvents"))
    engine.append(slug, tables, ["synthetic-attacker-host"])
    add_lead(
        engine,
        db,
        slug,
        "exploit_script",
        ["kali-1"],
        entities={"device": ["kali-ws.offsec.lan"], "account": ["attacker"]},
        tactics=("initial-access",),
        techniques=("T1210",),
    )
    add_lead(
        engine,
        db,
        slug,
        "special_privileges_by_network_logon",
        keys_where(engine, slug, "SELECT EventKey FROM DeviceEvents WHERE ActionType = 'SpecialPrivilegesAssigned'"),
        entities={"device": ["fs03vuln.offsec.lan"], "account": ["OFFSEC\\admmig"]},
        tactics=("privilege-escalation",),
        techniques=("T1078",),
    )


@pytest.mark.slow
def test_lateral_movement_joins_two_devices(env) -> None:
    engine, db = env
    _lateral_tenant(engine, db, "lm", attacker_address=True)
    report = correlate(engine, db, "lm")
    assert len(report.stories_created) == 1 and report.lateral_edges >= 1
    doc = story_document(db, report.stories_created[0])
    jsonschema.validate(doc, SCHEMA)
    scope = doc["scope"]
    assert sorted(d["name"] for d in scope["devices"]) == ["fs03vuln.offsec.lan", "kali-ws.offsec.lan"]
    edges = {(m["source"], m["target"], m["method"]) for m in scope["lateral_movement"]}
    assert ("kali-ws.offsec.lan", "fs03vuln.offsec.lan", "network logon") in edges
    joined = [lead["reason"] for lead in doc["leads"] if lead["reason"]["entity"] == "lateral_movement"]
    assert joined and joined[0]["lateral_movement"]["account"].endswith("admmig")
    admmig = next(a for a in scope["accounts"] if a["name"] == "admmig")
    assert "local admin" in admmig["privileges"]

    _lateral_tenant(engine, db, "nolm", attacker_address=False)
    assert len(correlate(engine, db, "nolm").stories_created) == 2


@pytest.mark.slow
def test_cli_correlates_lists_and_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from huntwatch.cli import main
    from huntwatch.config import settings

    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("HUNTWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUNTWATCH_LAKE", raising=False)
    cfg = settings()
    db = Database(cfg.database_url)
    db.create_all()
    engine = DuckDBEngine(cfg.lake_path)
    tenant(db, "cli")
    service_story_leads(engine, db, "cli")
    runner = CliRunner()
    out = runner.invoke(main, ["stories", "correlate", "--tenant", "cli", "--format", "json"])
    assert out.exit_code == 0, out.output
    story_id = json.loads(out.output)["stories_created"][0]
    listed = runner.invoke(main, ["stories", "list", "--tenant", "cli", "--format", "json"])
    assert [r["id"] for r in json.loads(listed.output)] == [story_id]
    shown = runner.invoke(main, ["stories", "show", str(story_id), "--format", "json"])
    jsonschema.validate(json.loads(shown.output), SCHEMA)
    text = runner.invoke(main, ["stories", "show", str(story_id)]).output
    assert "PROCESS TREES" in text and "`-- *powershell.exe" in text and "Method of entry" in text
    assert runner.invoke(main, ["stories", "show", "999"]).exit_code != 0


def test_an_address_half_the_tenant_talks_to_joins_no_story(env) -> None:
    """Beacon-like leads to a cloud service on two desks stay apart; a rare address still ties them."""
    engine, db = env
    tenant(db, "cloud")
    t = dt.datetime(2024, 5, 1, 9)
    peers = [(f"ws{i}", "52.97.146.162") for i in range(8)] + [("ws0", "203.0.113.7"), ("ws1", "203.0.113.7")]
    net = {c: [None] * len(peers) for c in arrow_schema("DeviceNetworkEvents").names}
    net.update(
        TenantId=["cloud"] * len(peers),
        EventKey=[f"net-{i}" for i in range(len(peers))],
        Timestamp=[t + dt.timedelta(minutes=i) for i in range(len(peers))],
        DeviceName=[d for d, _ in peers],
        ActionType=["ConnectionSuccess"] * len(peers),
        RemoteIP=[ip for _, ip in peers],
        RemotePort=[443] * len(peers),
    )
    engine.append("cloud", {"DeviceNetworkEvents": pa.table(net, schema=arrow_schema("DeviceNetworkEvents"))})
    for i in (0, 1):
        add_lead(
            engine,
            db,
            "cloud",
            f"beacon_{i}",
            [f"net-{i}"],
            entities={"device": [f"ws{i}"], "remote_ip": [peers[i][1]]},
        )
    report = correlate(engine, db, "cloud")
    assert len(report.stories_created) == 2 and report.common_entities == {"remote_ip:52.97.146.162": 8}
    for i in (8, 9):
        add_lead(
            engine, db, "cloud", f"c2_{i}", [f"net-{i}"], entities={"device": [peers[i][0]], "remote_ip": [peers[i][1]]}
        )
    again = correlate(engine, db, "cloud")  # each joins its desk's story; the rare address ties the two
    assert sorted(again.stories_extended) == sorted(report.stories_created)
    assert {(b["entity"], b["value"]) for b in again.bridges} == {("remote_ip", "203.0.113.7")}


@pytest.mark.slow
def test_a_path_half_the_tenant_runs_joins_no_story(env) -> None:
    """Leads naming a deployed agent's path on two desks stay apart; a rare dropped file's path ties them."""
    engine, db = env
    tenant(db, "agents")
    t = dt.datetime(2024, 5, 1, 9)
    agent, dropped = "C:\\ProgramData\\Agent\\agent.exe", "C:\\Users\\Public\\svc.exe"
    runs = [(f"ws{i}", agent) for i in range(8)] + [("ws0", dropped), ("ws1", dropped)]
    proc = {c: [None] * len(runs) for c in arrow_schema("DeviceProcessEvents").names}
    proc.update(
        TenantId=["agents"] * len(runs),
        EventKey=[f"proc-{i}" for i in range(len(runs))],
        Timestamp=[t + dt.timedelta(minutes=i) for i in range(len(runs))],
        DeviceName=[d for d, _ in runs],
        ActionType=["ProcessCreated"] * len(runs),
        FolderPath=[p for _, p in runs],
        FileName=[p.rsplit("\\", 1)[1] for _, p in runs],
    )
    engine.append("agents", {"DeviceProcessEvents": pa.table(proc, schema=arrow_schema("DeviceProcessEvents"))})
    for i in (0, 1):
        add_lead(engine, db, "agents", f"agent_{i}", [f"proc-{i}"], entities={"device": [f"ws{i}"], "file": [agent]})
    report = correlate(engine, db, "agents")
    assert len(report.stories_created) == 2
    assert report.common_entities == {f"file:{agent.lower()}": 8}
    for i in (8, 9):
        entities = {"device": [runs[i][0]], "file": [dropped]}
        add_lead(engine, db, "agents", f"dropped_{i}", [f"proc-{i}"], entities=entities)
    again = correlate(engine, db, "agents")  # each joins its desk's story; the rare path ties the two
    assert sorted(again.stories_extended) == sorted(report.stories_created)
    assert {(b["entity"], b["value"]) for b in again.bridges} == {("file", dropped)}
