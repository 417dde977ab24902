"""The lab's contract: reproducible bytes, valid event shapes, coherent process trees and logons."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from huntwatch.lab import ATTACK_SCENARIOS, SCENARIOS, LabManifest, generate
from tests.lab.helpers import read_events

ENVELOPE = ("@timestamp", "Hostname", "Channel", "SourceName", "EventID", "EventRecordID")
REQUIRED: dict[tuple[str, int], tuple[str, ...]] = {
    ("Microsoft-Windows-Sysmon/Operational", 1): (
        "UtcTime",
        "ProcessGuid",
        "ProcessId",
        "Image",
        "CommandLine",
        "CurrentDirectory",
        "User",
        "LogonGuid",
        "LogonId",
        "IntegrityLevel",
        "Hashes",
        "ParentProcessGuid",
        "ParentProcessId",
        "ParentImage",
        "ParentCommandLine",
        "OriginalFileName",
    ),
    ("Microsoft-Windows-Sysmon/Operational", 3): (
        "ProcessGuid",
        "ProcessId",
        "Image",
        "User",
        "Protocol",
        "Initiated",
        "SourceIp",
        "SourcePort",
        "DestinationIp",
        "DestinationPort",
        "DestinationHostname",
    ),
    ("Microsoft-Windows-Sysmon/Operational", 5): ("ProcessGuid", "ProcessId", "Image"),
    ("Microsoft-Windows-Sysmon/Operational", 7): ("ProcessGuid", "Image", "ImageLoaded", "Hashes", "Signed"),
    ("Microsoft-Windows-Sysmon/Operational", 10): (
        "SourceProcessGUID",
        "SourceImage",
        "TargetProcessGUID",
        "TargetImage",
        "GrantedAccess",
        "CallTrace",
    ),
    ("Microsoft-Windows-Sysmon/Operational", 11): ("ProcessGuid", "Image", "TargetFilename"),
    ("Microsoft-Windows-Sysmon/Operational", 12): ("EventType", "ProcessGuid", "Image", "TargetObject"),
    ("Microsoft-Windows-Sysmon/Operational", 13): ("EventType", "ProcessGuid", "Image", "TargetObject", "Details"),
    ("Microsoft-Windows-Sysmon/Operational", 22): ("ProcessGuid", "QueryName", "QueryResults", "Image"),
    ("Security", 4624): (
        "TargetUserSid",
        "TargetUserName",
        "TargetDomainName",
        "TargetLogonId",
        "LogonType",
        "LogonProcessName",
        "AuthenticationPackageName",
        "IpAddress",
        "IpPort",
        "WorkstationName",
        "ElevatedToken",
    ),
    ("Security", 4625): ("TargetUserName", "Status", "SubStatus", "LogonType", "IpAddress", "WorkstationName"),
    ("Security", 4634): ("TargetUserName", "TargetLogonId", "LogonType"),
    ("Security", 4648): ("SubjectUserName", "TargetUserName", "TargetServerName", "ProcessName"),
    ("Security", 4672): ("SubjectUserName", "SubjectLogonId", "PrivilegeList"),
    ("Security", 4688): (
        "SubjectUserName",
        "SubjectLogonId",
        "NewProcessId",
        "NewProcessName",
        "CommandLine",
        "ParentProcessName",
        "MandatoryLabel",
        "TokenElevationType",
    ),
    ("Security", 4697): ("ServiceName", "ServiceFileName", "ServiceAccount"),
    ("Security", 4698): ("TaskName", "TaskContent"),
    ("Security", 4720): ("TargetUserName", "TargetSid", "SubjectUserName", "SamAccountName"),
    ("Security", 4732): ("MemberSid", "TargetUserName", "TargetSid", "SubjectUserName"),
    ("Security", 4768): ("TargetUserName", "ServiceName", "Status", "IpAddress"),
    ("Security", 4769): ("TargetUserName", "ServiceName", "Status", "IpAddress"),
    ("Security", 4771): ("TargetUserName", "Status", "IpAddress"),
    ("Security", 4776): ("TargetUserName", "Workstation", "Status"),
    ("Security", 5140): ("SubjectUserName", "ShareName", "IpAddress"),
    ("Security", 5145): ("SubjectUserName", "ShareName", "RelativeTargetName", "IpAddress", "AccessMask"),
    ("System", 7045): ("ServiceName", "ImagePath", "AccountName"),
    ("System", 7036): ("param1", "param2"),
    ("Microsoft-Windows-PowerShell/Operational", 4104): ("ScriptBlockText", "ScriptBlockId"),
    ("Windows PowerShell", 400): ("Message",),
    ("Windows PowerShell", 800): ("Message",),
}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GUID = re.compile(r"^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$")


def _digest(manifest: LabManifest) -> dict[str, str]:
    root = Path(manifest.out_dir)
    names = [*manifest.files, manifest.ground_truth]
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in names}


@pytest.mark.parametrize("compress", [False, True])
def test_same_seed_gives_byte_identical_output(tmp_path: Path, compress: bool) -> None:
    kwargs: dict[str, Any] = {"devices": 12, "days": 2, "scenarios": list(SCENARIOS), "seed": 3, "compress": compress}
    first = generate(tmp_path / "a", **kwargs)
    second = generate(tmp_path / "b", **kwargs)
    assert first.files == second.files and first.events == second.events
    assert _digest(first) == _digest(second)
    other = generate(tmp_path / "c", **{**kwargs, "seed": 4})
    assert _digest(other) != _digest(first)


def test_scenario_argument_order_does_not_matter(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", devices=12, days=1, scenarios=["password_spray", "insider_staging"], seed=5)
    b = generate(tmp_path / "b", devices=12, days=1, scenarios=["insider_staging", "password_spray"], seed=5)
    assert _digest(a) == _digest(b)


def test_defaults_are_the_attack_scenarios_and_errors_are_clear(tmp_path: Path) -> None:
    assert set(ATTACK_SCENARIOS) == {
        "commodity_malware",
        "ransomware_precursor",
        "espionage_lolbins",
        "insider_staging",
        "password_spray",
    }
    with pytest.raises(ValueError, match="unknown scenario"):
        generate(tmp_path, devices=12, days=1, scenarios=["nope"])
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path, devices=3, days=1)


def test_layout_and_manifest(lab: LabManifest, lab_events: list[tuple[str, int, dict[str, Any]]]) -> None:
    assert len(lab.files) == 30 * 3
    assert all(re.fullmatch(r"telemetry/2026-11-0[234]/[A-Z]+-\d+\.jsonl", f) for f in lab.files)
    assert lab.events == len(lab_events) == sum(lab.events_by_channel.values())
    assert set(lab.events_by_channel) == {
        "Microsoft-Windows-Sysmon/Operational",
        "Security",
        "System",
        "Microsoft-Windows-PowerShell/Operational",
        "Windows PowerShell",
    }
    seen = {(e["Channel"], e["EventID"]) for _, _, e in lab_events}
    missing = set(REQUIRED) - seen
    assert not missing, f"event kinds never generated: {sorted(missing)}"


def test_every_event_has_its_windows_fields(lab_events: list[tuple[str, int, dict[str, Any]]]) -> None:
    for rel, line, ev in lab_events:
        for name in ENVELOPE:
            assert name in ev, (rel, line, name)
        assert TS.match(ev["@timestamp"]), (rel, line)
        assert ev["Hostname"].endswith(".corp.example")
        assert rel.split("/")[2].split(".")[0] == ev["Hostname"].split(".")[0]
        for name in REQUIRED.get((ev["Channel"], ev["EventID"]), ()):
            assert name in ev, (rel, line, ev["EventID"], name)
            # the kernel's "System" process has no command line, so smss.exe's parent line is empty
            if not (name == "ParentCommandLine" and ev.get("ParentImage") == "System"):
                assert ev[name] not in (None, ""), (rel, line, ev["EventID"], name)
        for key, value in ev.items():
            if key not in ("EventID", "EventRecordID"):
                assert isinstance(value, str), (rel, line, key)
        if ev["Channel"].endswith("Sysmon/Operational") and "ProcessGuid" in ev:
            assert GUID.match(ev["ProcessGuid"]), (rel, line)


def test_record_ids_count_up_per_channel_and_time_runs_forward(
    lab_events: list[tuple[str, int, dict[str, Any]]],
) -> None:
    last_record: dict[tuple[str, str], int] = {}
    last_time: dict[str, str] = {}
    for rel, line, ev in lab_events:
        key = (ev["Hostname"], ev["Channel"])
        assert ev["EventRecordID"] == last_record.get(key, 0) + 1, (rel, line)
        last_record[key] = ev["EventRecordID"]
        assert ev["@timestamp"] >= last_time.get(ev["Hostname"], ""), (rel, line)
        last_time[ev["Hostname"]] = ev["@timestamp"]


def test_process_trees_and_logons_are_consistent(lab_events: list[tuple[str, int, dict[str, Any]]]) -> None:
    created: dict[tuple[str, str], dict[str, Any]] = {}
    logons: dict[str, set[str]] = defaultdict(set)
    hashes: dict[str, set[str]] = defaultdict(set)
    for rel, line, ev in lab_events:
        host = ev["Hostname"]
        if ev["EventID"] == 4624:
            logons[host].add(ev["TargetLogonId"])
        if ev["Channel"].endswith("Sysmon/Operational") and ev["EventID"] == 1:
            parent = created.get((host, ev["ParentProcessGuid"]))
            if parent is not None:  # parents created inside the window must match what the child says
                assert parent["Image"] == ev["ParentImage"], (rel, line)
                assert parent["ProcessId"] == ev["ParentProcessId"], (rel, line)
                assert parent["CommandLine"] == ev["ParentCommandLine"], (rel, line)
            created[(host, ev["ProcessGuid"])] = ev
            if ev["User"].startswith("CORP\\"):
                assert ev["LogonId"] in logons[host], (rel, line, "process of a logon never seen")
            hashes[ev["OriginalFileName"] + ev["FileVersion"]].add(ev["Hashes"])
        elif ev["Channel"].endswith("Sysmon/Operational") and ev["EventID"] in (3, 5, 11, 13, 22):
            known = created.get((host, ev["ProcessGuid"]))
            if known is not None:
                assert known["Image"] == ev["Image"], (rel, line)
    assert all(len(h) == 1 for h in hashes.values()), "one binary, one hash"


def test_office_hours_and_weekends(tmp_path: Path) -> None:
    """Interactive logons cluster in office hours on weekdays and nearly vanish at the weekend."""
    lab = generate(tmp_path, devices=40, days=7, scenarios=[], seed=2, start=dt.date(2026, 11, 2))
    per_day: dict[str, int] = defaultdict(int)
    hours: list[int] = []
    for rel, _, ev in read_events(lab):
        if ev["EventID"] == 4624 and ev["LogonType"] == "2" and ev["Hostname"].startswith("WKS-"):
            per_day[rel.split("/")[1]] += 1
            hours.append(int(ev["@timestamp"][11:13]))
    weekday = min(per_day[f"2026-11-0{d}"] for d in range(2, 7))
    weekend = max(per_day.get("2026-11-07", 0), per_day.get("2026-11-08", 0))
    assert weekday > 5 * max(weekend, 1)
    assert sum(6 <= h <= 11 for h in hours) / len(hours) > 0.9


def test_behaviour_change_leaves_the_baseline_untouched(tmp_path: Path) -> None:
    """Anomaly models compare a lab with the change against the same lab without it: only the changed
    device, from the day of the change, may differ."""
    base = generate(tmp_path / "base", devices=12, days=2, scenarios=["password_spray"], seed=8)
    changed = generate(
        tmp_path / "changed", devices=12, days=2, scenarios=["password_spray", "behaviour_change"], seed=8
    )
    truth = orjson.loads((Path(changed.out_dir) / changed.ground_truth).read_bytes())
    change = next(s for s in truth["scenarios"] if s["id"] == "behaviour_change")
    (victim,) = change["devices"]
    first_day = change["first"][:10]
    before, after = _digest(base), _digest(changed)
    differing = {f for f in base.files if before[f] != after[f]}
    assert differing and all(f.endswith(f"/{victim}.jsonl") and f.split("/")[1] >= first_day for f in differing)


def test_organisation_name_sets_the_domain(tmp_path: Path) -> None:
    lab = generate(tmp_path, devices=12, days=1, scenarios=["password_spray"], seed=3, organisation="Fabrikam")
    assert lab.domain == "fabrikam.example"
    users, sids = set(), set()
    for _, _, ev in read_events(lab):
        assert ev["Hostname"].endswith(".fabrikam.example")
        if ev["EventID"] == 1 and ev["User"].startswith("FABRIKAM\\"):
            users.add(ev["User"])
        if ev["EventID"] == 4624 and ev["TargetUserSid"].startswith("S-1-5-21-"):
            sids.add(ev["TargetUserSid"].rsplit("-", 1)[0])
    assert users and len(sids) == 1 and sids != {"S-1-5-21-3623811015-3361044348-30300820"}
