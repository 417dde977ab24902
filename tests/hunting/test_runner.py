from __future__ import annotations

from sqlalchemy import select

from huntwatch.hunting.model import load_hunts
from huntwatch.hunting.runner import run_hunts
from huntwatch.hunting.store import list_leads
from huntwatch.state import HuntWatermark, Lead

from .conftest import FIXTURES, proc, rows_table

ENC = "powershell -NoP -EncodedCommand SQBFAFgA"


def _hunts():
    return load_hunts([FIXTURES / "hunts"], builtin=False)


def _first_batch():
    return [
        proc(1, 0, "powershell.exe", cmd=ENC),
        proc(2, 5, "POWERSHELL.EXE", cmd=ENC.upper()),
        proc(3, 120, "powershell.exe", cmd=ENC),
        proc(4, 1, "powershell.exe", cmd=ENC, account="bob"),
        proc(5, 2, "powershell.exe", cmd="powershell -File x.ps1"),
        proc(6, 10, "whoami.exe"),
        proc(7, 11, "net.exe"),
        proc(8, 12, "systeminfo.exe"),
        proc(9, 13, "notepad.exe"),
    ]


def test_rows_become_grouped_leads_and_rerun_adds_nothing(engine, db):
    engine.append("t1", {"DeviceProcessEvents": rows_table("DeviceProcessEvents", _first_batch())})
    report = run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[])
    assert not report.errors
    leads = list_leads(db, "t1")
    enc = sorted((x for x in leads if x.hunt_id == "test-encoded-powershell"), key=lambda x: (x.first_seen, x.id))
    # alice 0..5 min (one session), bob at 1 min, alice again at 120 min (past the 30 min gap)
    assert [sorted(e["key"] for e in x.evidence) for x in enc] == [["p00001", "p00002"], ["p00004"], ["p00003"]]
    assert enc[0].entities == {"device": ["ws1"], "account": ["alice"], "process": ["powershell.exe"]}
    assert enc[0].evidence[0]["table"] == "DeviceProcessEvents"
    assert enc[0].details["rows"][0].lower().startswith("powershell -nop")
    burst = [x for x in leads if x.hunt_id == "test-discovery-burst"]
    assert len(burst) == 1 and {e["key"] for e in burst[0].evidence} == {"p00006", "p00007", "p00008"}
    assert burst[0].tactics == ["Discovery"] and burst[0].severity == "medium"

    again = run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[])
    assert again.added == 0 and all(o.skipped for o in again.outcomes)
    forced = run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[], since=0)
    assert forced.added == 0 and sum(o.candidates for o in forced.outcomes) == 4
    assert len(list_leads(db, "t1")) == 4


def test_incremental_run_extends_or_adds(engine, db):
    engine.append("t1", {"DeviceProcessEvents": rows_table("DeviceProcessEvents", _first_batch())})
    run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[])
    engine.append(
        "t1",
        {
            "DeviceProcessEvents": rows_table(
                "DeviceProcessEvents",
                [proc(20, 130, "powershell.exe", cmd=ENC), proc(21, 600, "powershell.exe", cmd=ENC)],
            )
        },
    )
    report = run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[])
    enc = next(o for o in report.outcomes if o.id == "test-encoded-powershell")
    assert (enc.added, enc.extended) == (1, 1)
    leads = [x for x in list_leads(db, "t1") if x.hunt_id == "test-encoded-powershell"]
    assert len(leads) == 4
    grown = next(x for x in leads if any(e["key"] == "p00003" for e in x.evidence))
    assert {e["key"] for e in grown.evidence} == {"p00003", "p00020"}
    with db.session() as s:
        marks = {w.hunt_id: w.last_seq for w in s.scalars(select(HuntWatermark))}
    assert marks == {"test-encoded-powershell": 2, "test-discovery-burst": 2}


def test_failing_hunt_is_reported_and_others_run(engine, db):
    engine.append("t1", {"DeviceProcessEvents": rows_table("DeviceProcessEvents", _first_batch())})
    hunts = [*_hunts(), *load_hunts([FIXTURES / "broken" / "failing_hunt.yml"], builtin=False)]
    report = run_hunts(engine, db, "t1", hunts=hunts, analytics=[])
    assert [o.id for o in report.errors] == ["failing-hunt"]
    assert "NoSuchColumn" in report.errors[0].error
    assert report.added == 4
    with db.session() as s:
        wm = s.get(HuntWatermark, (1, "failing-hunt"))
        assert wm.last_seq == 0 and "NoSuchColumn" in wm.last_error
        assert s.scalar(select(Lead).where(Lead.hunt_id == "failing-hunt")) is None


def test_empty_tenant_tables_still_bind(engine, db):
    engine.append("t1", {"DeviceNetworkEvents": rows_table("DeviceNetworkEvents", [])})
    engine.append("t1", {"DeviceProcessEvents": rows_table("DeviceProcessEvents", [proc(1, 0, "calc.exe")])})
    report = run_hunts(engine, db, "t1", hunts=_hunts(), analytics=[])
    assert not report.errors and report.added == 0


def test_the_runners_copies_of_the_tables_give_what_the_lake_gives(engine, db):
    """The runner hunts over copies (needed columns, recent rows, and only the declared raw event ids);
    every built-in hunt must find there what it finds over the whole lake, on real recordings."""
    from huntwatch.hunting.runner import hunt_candidates
    from huntwatch.ingest import ingest_paths
    from tests.conftest import dataset

    hunts = load_hunts()
    raw_hunts = [h for h in hunts if "RawEvents" in h.tables and h.raw_event_ids is not None]
    files = sorted({h.proven_by[0] for h in raw_hunts if h.proven_by})[:12]
    assert ingest_paths(engine, "t1", [dataset(f) for f in files]).events_written
    run_hunts(engine, db, "t1", hunts=hunts, analytics=[])
    stored = sorted((x.hunt_id, tuple(sorted(e["key"] for e in x.evidence))) for x in list_leads(db, "t1"))
    con = engine.connect("t1")
    direct = sorted((c.hunt_id, tuple(sorted(c.evidence))) for h in hunts for c in hunt_candidates(con, h))
    assert stored == direct
    assert sum(1 for hunt_id, _ in stored if hunt_id in {h.id for h in raw_hunts}) >= 5


def test_raw_hunts_see_every_event_they_may_read_whatever_the_copy(engine, db, tmp_path):
    """The raw copy holds only declared event ids; a raw hunt declaring none, or a copy over the row limit,
    makes the runner read the lake instead, so no hunt loses an event either way."""
    from .conftest import raw, write_raw_hunt

    folder = tmp_path / "raw_hunts"
    write_raw_hunt(folder, "declared-raw", "  - channel: Security\n    event_ids: [4661]", "EventID = 4661")
    write_raw_hunt(folder, "any-raw", "  - channel: Application", "Channel = 'Application'")
    rows = [raw("r1", 0, "Security", 4661), raw("r2", 1, "Application", 325), raw("r3", 2, "Security", 4624)]
    engine.append("t1", {"RawEvents": rows_table("RawEvents", rows)})
    hunts = load_hunts([folder], builtin=False)
    expected = {"declared-raw": [["r1"]], "any-raw": [["r2"]]}
    only_declared = [h for h in hunts if h.id == "declared-raw"]
    for limit in (5_000_000, 0):  # 0: every copy is over the limit, hunts read the lake
        for due in (hunts, only_declared):  # with an undeclared raw hunt there is no raw copy at all
            run_hunts(engine, db, "t1", hunts=due, analytics=[], since=0, materialize_rows=limit)
            leads = list_leads(db, "t1")
            found = {h: [sorted(e["key"] for e in x.evidence) for x in leads if x.hunt_id == h] for h in expected}
            assert found == expected, (limit, len(due))
