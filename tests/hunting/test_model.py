from __future__ import annotations

import json

import pytest

from huntwatch.hunting.attack import (
    AttackCatalog,
    canonical_tactic,
    default_catalog,
    tactic_folder,
    tactic_rank,
)
from huntwatch.hunting.model import HuntError, load_hunts

from .conftest import FIXTURES, write_raw_hunt


def test_fixture_hunts_load():
    hunts = load_hunts([FIXTURES / "hunts"], builtin=False)
    by_id = {h.id: h for h in hunts}
    enc = by_id["test-encoded-powershell"]
    assert enc.tactics == ("Execution", "Defense Evasion")
    assert enc.group_by == ("DeviceName", "AccountName")
    assert enc.tables == {"DeviceProcessEvents"}
    assert enc.requires[1].channel == "Security" and enc.requires[1].event_ids == (4688,)


def test_broken_hunt_reports_every_problem_with_file_and_field():
    with pytest.raises(HuntError) as err:
        load_hunts([FIXTURES / "broken" / "bad_hunt.yml"], builtin=False)
    text = "\n".join(err.value.problems)
    assert "bad_hunt.yml: id:" in text
    assert "severity:" in text and "confidence:" in text
    assert "T9999" in text and "T1059.001" in text  # unknown, and wrong tactic
    assert "unknown entity kind 'user'" in text
    assert "LIMIT" in text


def test_duplicate_ids_rejected(tmp_path):
    src = (FIXTURES / "hunts" / "execution" / "test_encoded_powershell.yml").read_text()
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "test_encoded_powershell.yml").write_text(src)
    with pytest.raises(HuntError, match="already used"):
        load_hunts([tmp_path], builtin=False)


def test_tactics_and_catalogue():
    assert canonical_tactic("defense-evasion") == "Defense Evasion"
    assert canonical_tactic("attack.stealth") == "Defense Evasion"  # ATT&CK v19 split
    assert canonical_tactic("TA0011") == "Command and Control"
    assert tactic_rank("Initial Access") < tactic_rank("Execution") < tactic_rank("Impact")
    assert tactic_folder("Command and Control") == "command_and_control"
    cat = default_catalog()
    assert cat.check("T1003.001", ["Credential Access"]) is None
    assert "belongs to" in cat.check("T1003.001", ["Execution"])
    with pytest.raises(ValueError):
        canonical_tactic("Teleportation")


def test_catalogue_from_an_official_stix_bundle(tmp_path):
    bundle = {
        "type": "bundle",
        "objects": [
            {
                "type": "attack-pattern",
                "name": "OS Credential Dumping",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1003"}],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "credential-access"}],
            },
            {
                "type": "attack-pattern",
                "name": "Hide Artifacts",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1564"}],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "stealth"}],
            },
            {"type": "intrusion-set", "name": "APT-X"},
        ],
    }
    path = tmp_path / "enterprise-attack.json"
    path.write_text(json.dumps(bundle))
    cat = AttackCatalog.from_stix_bundle(path)
    assert set(cat.techniques) == {"T1003", "T1564"}
    assert cat.check("T1564", ["Defense Evasion"]) is None  # v19 Stealth read as Defense Evasion
    assert "unknown" in cat.check("T1059", ["Execution"])


def test_a_raw_hunt_must_declare_every_event_id_it_reads(tmp_path):
    """The runner copies only the declared raw event ids, so an undeclared one would be silently missed."""
    where = "EventID = 4661 OR EventID IN (4662, 4663)"
    write_raw_hunt(tmp_path, "raw-probe", "  - channel: Security\n    event_ids: [4661]", where)
    with pytest.raises(HuntError, match=r"event id\(s\) \[4662, 4663\] that requires does not list"):
        load_hunts([tmp_path], builtin=False)
    write_raw_hunt(tmp_path, "raw-probe", "  - channel: Security\n    event_ids: [4661, 4662, 4663]", where)
    assert load_hunts([tmp_path], builtin=False)[0].raw_event_ids == {4661, 4662, 4663}
