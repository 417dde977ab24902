from __future__ import annotations

from huntwatch.hunting.analytics import Beaconing
from huntwatch.hunting.coverage import coverage
from huntwatch.hunting.model import load_hunts, parse_hunt

from .conftest import FIXTURES, proc, raw, rows_table

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _spray_hunt():
    return parse_hunt(
        {
            "id": "spray",
            "title": "Password spray",
            "description": "x",
            "severity": "high",
            "confidence": 0.6,
            "tactics": ["Credential Access"],
            "techniques": ["T1110.003"],
            "table": "DeviceLogonEvents",
            "requires": [{"channel": "Security", "event_ids": [4625, 4771]}],
            "query": "SELECT Timestamp, EventKey, DeviceName FROM DeviceLogonEvents",
        }
    )


def test_coverage_names_blind_hunts_and_tactics(engine):
    engine.append(
        "t1",
        {
            "DeviceProcessEvents": rows_table("DeviceProcessEvents", [proc(1, 0, "calc.exe")]),
            "RawEvents": rows_table("RawEvents", [raw("p00001", 0, SYSMON, 1), raw("x", 1, "security", 4624)]),
        },
    )
    hunts = [*load_hunts([FIXTURES / "hunts"], builtin=False), _spray_hunt()]
    report = coverage(engine, "t1", hunts, analytics=[Beaconing()])
    status = {d.detector.id: d for d in report.detectors}
    assert status["test-encoded-powershell"].can_fire  # Sysmon 1 is sent (4688 is not, but one suffices)
    assert not status["spray"].can_fire and status["spray"].missing == ["Security: 4625, 4771"]
    assert not status["beaconing"].can_fire
    tactics = {t.tactic: t.status for t in report.tactics}
    assert tactics["Credential Access"] == "blind"
    assert tactics["Command and Control"] == "blind"
    assert tactics["Discovery"] == "covered"
    assert tactics["Impact"] == "no detectors"
    data = report.as_dict()
    assert data["sources"] == {SYSMON: {"1": 1}, "security": {"4624": 1}}
    assert set(data["blind_tactics"]) == {"Credential Access", "Command and Control"}
