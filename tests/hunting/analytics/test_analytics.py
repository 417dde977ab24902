from __future__ import annotations

import datetime as dt
import random

from huntwatch.hunting.analytics import (
    Beaconing,
    FirstSeenUserWritable,
    RareCommandSequence,
    RareParentChild,
    RareProcessPath,
)
from huntwatch.hunting.analytics.base import connection_query, engine_query

from ..conftest import T0, proc, rows_table


def _net(i: int, seconds: float, dest: str, process: str = "updater.exe") -> dict:
    return {
        "TenantId": "t1",
        "EventKey": f"n{i:05d}",
        "Timestamp": T0 + dt.timedelta(seconds=seconds),
        "DeviceName": "ws1",
        "ActionType": "ConnectionSuccess",
        "RemoteIP": dest,
        "RemotePort": 443,
        "InitiatingProcessFileName": process,
    }


def _con(engine, tables):
    engine.append("t1", {name: rows_table(name, rows) for name, rows in tables.items()})
    return connection_query(engine.connect("t1"))


def test_beaconing_finds_periodic_not_random(engine):
    rnd = random.Random(7)
    rows = [_net(i, i * 60 + rnd.uniform(-2, 2), "203.0.113.9") for i in range(20)]
    t = 0.0
    for i in range(20):
        t += rnd.expovariate(1 / 60)
        rows.append(_net(100 + i, t, "198.51.100.7", "chrome.exe"))
    rows += [_net(200 + i, i * 60, "127.0.0.1") for i in range(20)]
    leads = list(Beaconing().run(_con(engine, {"DeviceNetworkEvents": rows}), None))
    assert [x.entities["remote_ip"] for x in leads] == [["203.0.113.9"]]
    assert 55 <= leads[0].details["median_interval_s"] <= 65 and len(leads[0].evidence) == 20
    assert leads[0].tactics == ["Command and Control"] and leads[0].source == "analytic"
    # only findings with events after `since` are reported
    assert list(Beaconing().run(engine_query(engine, "t1"), T0 + dt.timedelta(days=1))) == []


def test_rare_parent_child_needs_a_common_parent(engine):
    rows = [proc(i, i, "conhost.exe", parent="services.exe") for i in range(40)]
    rows.append(proc(50, 45, "cmd.exe", parent="services.exe"))
    rows.append(proc(51, 46, "mshta.exe", parent="winword.exe"))  # rare, but winword rarely spawns anything here
    leads = list(RareParentChild(min_parent_count=30).run(_con(engine, {"DeviceProcessEvents": rows}), None))
    assert [(x.entities["process"], x.evidence) for x in leads] == [(["services.exe", "cmd.exe"], ["p00050"])]


def test_rare_process_path_stacks_across_devices(engine):
    rows = [proc(i, i, "app.exe", device=f"ws{i % 3}", folder="C:\\Tools\\app.exe") for i in range(9)]
    rows.append(proc(20, 30, "x.exe", device="ws2", folder="C:\\Users\\bob\\x.exe"))
    rows.append(proc(21, 31, "svchost.exe", device="ws2"))  # under Windows: not stacked
    leads = list(RareProcessPath().run(_con(engine, {"DeviceProcessEvents": rows}), None))
    assert [x.details["path"] for x in leads] == ["c:\\users\\bob\\x.exe"]


def test_first_seen_user_writable(engine):
    rows = [
        proc(1, 0, "a.exe", folder="C:\\Users\\bob\\AppData\\Local\\Temp\\a.exe"),
        proc(2, 1, "b.exe", folder="C:\\ProgramData\\b.exe", device="ws2"),
        proc(3, 600, "c.exe", folder="C:\\Users\\Public\\c.exe"),
        proc(4, 2, "calc.exe"),
    ]
    con = _con(engine, {"DeviceProcessEvents": rows})
    leads = list(FirstSeenUserWritable().run(con, None))
    assert sorted(x.evidence[0] for x in leads) == ["p00001", "p00002", "p00003"]
    later = list(FirstSeenUserWritable().run(con, T0 + dt.timedelta(minutes=300)))
    assert [x.evidence for x in later] == [["p00003"]]


def test_rare_command_sequence(engine):
    rnd = random.Random(3)
    normal = ["outlook.exe", "winword.exe", "excel.exe", "chrome.exe", "teams.exe"]
    rows = []
    minute = 0.0
    for i in range(400):  # a routine: programs cycle in the same order every day
        minute += rnd.uniform(1, 5)
        rows.append(proc(i, minute, normal[i % len(normal)], account=f"user{i % 4}"))
    start = minute + 600
    for j, tool in enumerate(["whoami.exe", "nltest.exe", "adfind.exe", "rclone.exe", "7z.exe"]):
        rows.append(proc(1000 + j, start + j, tool, account="mallory"))
    leads = list(RareCommandSequence(min_events=300).run(_con(engine, {"DeviceProcessEvents": rows}), None))
    assert len(leads) == 1
    assert leads[0].entities["account"] == ["mallory"]
    assert leads[0].details["rare_transitions"][0] == "whoami.exe → nltest.exe"
    assert set(leads[0].evidence) == {f"p0100{j}" for j in range(1, 5)}
