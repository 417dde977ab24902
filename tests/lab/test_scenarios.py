"""Ground truth is present, points at the right events, and each intrusion shows its defining behaviour."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from huntwatch.lab import SCENARIOS, GroundTruth, LabManifest

Events = list[tuple[str, int, dict[str, Any]]]


def _scenario(truth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in truth["scenarios"] if s["id"] == name)


def _malicious(lab: LabManifest, scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a scenario's ground truth names, read back from the files by (file, line)."""
    lines: dict[str, list[bytes]] = {}
    out = []
    for ref in scenario["events"]:
        if ref["file"] not in lines:
            lines[ref["file"]] = (Path(lab.out_dir) / ref["file"]).read_bytes().splitlines()
        out.append(orjson.loads(lines[ref["file"]][ref["line"] - 1]))
    return out


def test_every_scenario_has_consistent_ground_truth(lab: LabManifest, truth: dict[str, Any]) -> None:
    assert truth["lab"] == {
        "seed": 11,
        "devices": 30,
        "days": 3,
        "start": "2026-11-02",
        "scenarios": list(SCENARIOS),
        "domain": "corp.example",
    }
    assert [s["id"] for s in truth["scenarios"]] == list(SCENARIOS)
    for scenario in truth["scenarios"]:
        spec = SCENARIOS[scenario["id"]]
        assert scenario["event_count"] == len(scenario["events"]) > 0, scenario["id"]
        events = _malicious(lab, scenario)
        for ref, ev in zip(scenario["events"], events, strict=True):
            assert ev["EventRecordID"] == ref["record_id"]
            assert ev["Channel"] == ref["channel"] and ev["EventID"] == ref["event_id"]
            assert ev["Hostname"].split(".")[0] == ref["device"]
            assert ev["@timestamp"] == ref["timestamp"]
        times = [e["@timestamp"] for e in events]
        assert scenario["first"] == min(times) and scenario["last"] == max(times)
        assert scenario["devices"] == sorted({e["Hostname"].split(".")[0] for e in events})
        assert set(scenario["techniques"]) <= set(spec.techniques), scenario["id"]
        if spec.kind == "attack":
            assert set(scenario["techniques"]) == set(spec.techniques), scenario["id"]
            assert all(ref["technique"] for ref in scenario["events"]), scenario["id"]
        assert scenario["accounts"]


def test_ground_truth_names_only_events_that_exist_once(truth: dict[str, Any]) -> None:
    seen: set[tuple[str, str, int]] = set()
    for scenario in truth["scenarios"]:
        for ref in scenario["events"]:
            key = (ref["device"], ref["channel"], ref["record_id"])
            assert key not in seen
            seen.add(key)


def test_benign_lookalikes_are_labelled(truth: dict[str, Any]) -> None:
    kinds = {b["scenario"] for b in truth["benign_lookalikes"]}
    assert {"it_psexec", "it_admin_tools", "backup_archive", "config_manager_scripts"} <= kinds
    for bucket in truth["benign_lookalikes"]:
        assert bucket["kind"] == "benign_lookalike" and bucket["count"] >= len(bucket["events"]) > 0


def test_commodity_malware_chain(lab: LabManifest, truth: dict[str, Any]) -> None:
    events = _malicious(lab, _scenario(truth, "commodity_malware"))
    procs = [e for e in events if e["EventID"] == 1]
    chain = [(p["ParentImage"].rsplit("\\", 1)[-1], p["Image"].rsplit("\\", 1)[-1]) for p in procs]
    assert ("OUTLOOK.EXE", "WINWORD.EXE") in chain and ("WINWORD.EXE", "powershell.exe") in chain
    ps = next(p for p in procs if p["Image"].endswith("powershell.exe"))
    assert " -enc " in ps["CommandLine"] and "-w hidden" in ps["CommandLine"]
    run_key = next(e for e in events if e["EventID"] == 13)
    assert "\\CurrentVersion\\Run\\" in run_key["TargetObject"]
    implant = run_key["Details"]
    assert "\\AppData\\Roaming\\" in implant
    beacons = [e for e in events if e["EventID"] == 3 and e["Image"] == implant]
    assert len(beacons) > 10 and len({e["DestinationIp"] for e in beacons}) == 1
    restarts = [e for e in events if e["EventID"] == 1 and e["Image"] == implant]
    assert len({e["@timestamp"][:10] for e in restarts}) >= 2, "the Run key restarts it on later days"
    assert all(e["ParentImage"].endswith(("explorer.exe", "powershell.exe")) for e in restarts)
    assert any(e["EventID"] == 4104 and "DownloadFile" in e["ScriptBlockText"] for e in events)


def test_ransomware_precursor_moves_to_three_hosts_with_a_stolen_admin(lab: LabManifest, truth: dict[str, Any]) -> None:
    scenario = _scenario(truth, "ransomware_precursor")
    events = _malicious(lab, scenario)
    admin = scenario["accounts"][1].split("\\")[1]
    assert admin.startswith("adm.")
    lsass = [e for e in events if e["EventID"] == 10]
    assert lsass and lsass[0]["TargetImage"].endswith("lsass.exe") and lsass[0]["GrantedAccess"] == "0x1FFFFF"
    assert any("comsvcs.dll, MiniDump" in e.get("CommandLine", "") for e in events)
    remote_logons = {
        e["Hostname"] for e in events if e["EventID"] == 4624 and e["TargetUserName"] == admin and e["LogonType"] == "3"
    }
    assert len(remote_logons) >= 3
    commands = " ".join(e.get("CommandLine", "") for e in events if e["EventID"] == 1)
    assert "vssadmin.exe delete shadows /all /quiet" in commands and "bcdedit.exe /set {default}" in commands
    assert "nltest /domain_trusts" in commands and 'net group "domain admins" /domain' in commands
    assert {e["EventID"] for e in events} >= {7045, 4697, 5140, 5145, 4648}
    assert any(e["EventID"] == 1 and e["ParentImage"].endswith("WmiPrvSE.exe") for e in events)
    # the discovery burst is a burst: most commands within a few minutes
    discovery = sorted(e["@timestamp"] for e in events if e["EventID"] == 1 and e["Image"].endswith("nltest.exe"))
    assert discovery and discovery[-1][:15] == discovery[0][:15]  # same ten-minute slot


def test_espionage_beacons_with_jitter_over_days(lab: LabManifest, truth: dict[str, Any]) -> None:
    events = _malicious(lab, _scenario(truth, "espionage_lolbins"))
    images = {e["Image"].rsplit("\\", 1)[-1].lower() for e in events if e["EventID"] == 1}
    assert {"mshta.exe", "certutil.exe", "regsvr32.exe", "rundll32.exe", "schtasks.exe"} <= images
    starts = sorted(e["@timestamp"] for e in events if e["EventID"] == 1 and e["Image"].endswith("rundll32.exe"))
    days = {t[:10] for t in starts}
    assert len(days) >= 2

    stamps = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in starts]
    gaps = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(stamps)]
    regular = [g for g in gaps if g > 20]
    assert len(set(round(g) for g in regular)) > 5, "jittered, not fixed"
    assert 30 < sum(regular) / len(regular) < 60
    assert any(e["EventID"] == 4698 and "OfficeTelemetry" in e["TaskName"] for e in events)
    night = [t for t in starts if int(t[11:13]) < 6]
    assert night, "beacons continue at night"


def test_insider_staging(lab: LabManifest, truth: dict[str, Any]) -> None:
    events = _malicious(lab, _scenario(truth, "insider_staging"))
    commands = [e["CommandLine"] for e in events if e["EventID"] == 1]
    assert any("robocopy \\\\FS-01\\Finance" in c for c in commands)
    assert any('7z.exe" a -t7z -mhe=on -p' in c for c in commands)
    assert any(c.startswith("curl.exe -s -T") for c in commands)
    staged = [e for e in events if e["EventID"] == 11 and "\\AppData\\Local\\Temp\\" in e["TargetFilename"]]
    assert len(staged) >= 40
    share_reads = [e for e in events if e["EventID"] == 5145]
    assert len(share_reads) >= 40 and {e["Hostname"].split(".")[0] for e in share_reads} == {"FS-01"}


def test_password_spray_then_rdp(lab: LabManifest, truth: dict[str, Any]) -> None:
    events = _malicious(lab, _scenario(truth, "password_spray"))
    failures = [e for e in events if e["EventID"] == 4625]
    sources = {e["IpAddress"] for e in failures}
    assert len(sources) == 1 and len({e["TargetUserName"] for e in failures}) >= 20
    source = sources.pop()
    rdp = [e for e in events if e["EventID"] == 4624 and e["LogonType"] == "10"]
    assert rdp and rdp[0]["IpAddress"] == source and rdp[0]["@timestamp"] > max(e["@timestamp"] for e in failures)
    assert any(e["EventID"] == 4776 and e["Status"] != "0x0" for e in events)
    preauth = [e for e in events if e["EventID"] == 4771]
    assert len({e["TargetUserName"] for e in preauth}) >= 10 and len({e["IpAddress"] for e in preauth}) == 1
    assert any(e["EventID"] == 4720 for e in events) and any(e["EventID"] == 4732 for e in events)


def test_behaviour_change_is_new_at_night_and_matches_no_lolbin(
    lab: LabManifest, truth: dict[str, Any], lab_events: Events
) -> None:
    scenario = _scenario(truth, "behaviour_change")
    events = _malicious(lab, scenario)
    assert scenario["kind"] == "anomaly" and scenario["techniques"] == []
    assert all(2 <= int(e["@timestamp"][11:13]) < 5 for e in events)
    new_images = {e["Image"] for e in events if e["EventID"] == 1}
    assert new_images and not any(
        name in image.lower() for image in new_images for name in ("rundll32", "powershell", "mshta", "cmd.exe")
    )
    elsewhere: dict[str, set[str]] = defaultdict(set)
    for _, _, ev in lab_events:
        if ev["EventID"] == 1 and ev["Image"] in new_images:
            elsewhere[ev["Image"]].add(ev["Hostname"])
    assert all(len(hosts) == 1 for hosts in elsewhere.values()), "rare: one device only"
    first_day = min(e["@timestamp"][:10] for e in events)
    assert first_day > "2026-11-02", "the baseline days before the change stay clean"


def test_ground_truth_reader_labels_lake_spellings(lab: LabManifest, truth: dict[str, Any]) -> None:
    gt = GroundTruth.load(lab.out_dir)
    spray = _scenario(truth, "password_spray")
    ref = spray["events"][0]
    fqdn = f"{ref['device'].lower()}.corp.example"
    assert gt.label(fqdn, ref["channel"], ref["record_id"]) == ("password_spray", ref["technique"])
    assert gt.is_attack(fqdn, ref["channel"], ref["record_id"])
    change = _scenario(truth, "behaviour_change")["events"][0]
    assert not gt.is_attack(change["device"], change["channel"], change["record_id"])
    assert gt.label("WKS-0001", "Security", 10**9) is None
    psexec = next(b for b in truth["benign_lookalikes"] if b["scenario"] == "it_psexec")["events"][0]
    hit = gt.label(psexec["device"], psexec["channel"], psexec["record_id"])
    assert hit is not None and hit[0].startswith("lookalike:it_psexec")
    assert gt.devices("anomaly") == set(_scenario(truth, "behaviour_change")["devices"])
