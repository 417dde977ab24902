"""Notifications in the formats SIEMs and threat-intel platforms read: OCSF Detection Finding and STIX 2.1.

Both are plain JSON built from the alert; ids are derived from the alert so exporting twice gives the same
objects and receivers can de-duplicate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from huntwatch import __version__
from huntwatch.hunting.attack import TACTIC_IDS, default_catalog
from huntwatch.service import scope
from huntwatch.state import Alert, Tenant

OCSF_VERSION = "1.3.0"
_SEVERITY_ID = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
_STATUS = {"new": (1, "New"), "in_progress": (2, "In Progress"), "resolved": (4, "Resolved")}
_TACTIC_UID = {name: uid for uid, name in TACTIC_IDS.items()}
_NAMESPACE = uuid.UUID("6f0c1f55-8d4e-4b0e-9a55-5e1c6b1c0d11")  # Huntwatch's own namespace for derived ids


def _ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _stix_time(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _attacks(alert: Alert) -> list[dict[str, Any]]:
    catalog = default_catalog()
    out = []
    for tid in alert.techniques:
        tech = catalog.technique(tid)
        tactics = [t for t in (tech.tactics if tech else ()) if not alert.tactics or t in alert.tactics]
        entry: dict[str, Any] = {"technique": {"uid": tid, "name": tech.name if tech else tid}}
        if tactics:
            entry["tactic"] = {"uid": _TACTIC_UID.get(tactics[0], ""), "name": tactics[0]}
        out.append(entry)
    covered = {a.get("tactic", {}).get("name") for a in out}
    out.extend({"tactic": {"uid": _TACTIC_UID.get(t, ""), "name": t}} for t in alert.tactics if t not in covered)
    return out


def _resources(alert: Alert) -> list[dict[str, Any]]:
    kinds = {"devices": "device", "accounts": "user", "files": "file"}
    return [{"type": kind, "name": name} for key, kind in kinds.items() for name in scope.names(alert.scope, key)]


def to_ocsf(alert: Alert, tenant: Tenant) -> dict[str, Any]:
    """An OCSF Detection Finding (class 2004, activity Create)."""
    status_id, status = _STATUS.get(alert.status, (99, alert.status))
    return {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": _ms(alert.created_at),
        "severity_id": _SEVERITY_ID.get(alert.severity, 99),
        "severity": alert.severity.capitalize(),
        "status_id": status_id,
        "status": status,
        "message": alert.title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": str(alert.id),
            "tenant_uid": tenant.slug,
            "product": {"name": "Huntwatch", "vendor_name": "Huntwatch", "version": __version__},
            "labels": [alert.tag] + (["sample"] if alert.is_sample else []),
        },
        "finding_info": {
            "uid": f"huntwatch-alert-{alert.id}",
            "title": alert.title,
            "desc": alert.executive_summary,
            "types": [alert.tag],
            "created_time": _ms(alert.created_at),
            "first_seen_time": _ms(alert.first_activity),
            "last_seen_time": _ms(alert.last_activity),
            "attacks": _attacks(alert),
            "analytic": {"type_id": 99, "type": "Managed threat hunting", "name": alert.source},
        },
        "resources": _resources(alert),
        "evidences": [{"data": ev} for ev in alert.evidence[:100]],
        "remediation": {"desc": "\n".join(alert.recommendations)},
        "unmapped": {
            "method_of_entry": alert.method_of_entry,
            "timeline": alert.timeline,
            "queries": alert.queries,
            "story_id": alert.story_id,
        },
    }


def _sid(kind: str, *parts: object) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '/'.join(str(p) for p in (kind, *parts)))}"


def to_stix(alert: Alert, tenant: Tenant) -> dict[str, Any]:
    """A STIX 2.1 bundle: the provider and tenant identities, a report, ATT&CK patterns and file indicators."""
    created = _stix_time(alert.created_at)
    modified = _stix_time(alert.updated_at or alert.created_at)
    provider = {
        "type": "identity",
        "spec_version": "2.1",
        "id": _sid("identity", "huntwatch"),
        "created": created,
        "modified": created,
        "name": alert.source,
        "identity_class": "organization",
    }
    common = {"spec_version": "2.1", "created": created, "modified": modified, "created_by_ref": provider["id"]}
    victim = {
        **common,
        "type": "identity",
        "id": _sid("identity", "tenant", tenant.slug),
        "name": tenant.name,
        "identity_class": "organization",
    }
    catalog = default_catalog()
    patterns = []
    for tid in alert.techniques:
        tech = catalog.technique(tid)
        patterns.append(
            {
                **common,
                "type": "attack-pattern",
                "id": _sid("attack-pattern", tid),
                "name": tech.name if tech else tid,
                "external_references": [
                    {
                        "source_name": "mitre-attack",
                        "external_id": tid,
                        "url": "https://attack.mitre.org/techniques/" + tid.replace(".", "/") + "/",
                    }
                ],
                "kill_chain_phases": [
                    {"kill_chain_name": "mitre-attack", "phase_name": t.lower().replace(" ", "-")}
                    for t in (tech.tactics if tech else ())
                ],
            }
        )
    valid_from = _stix_time(alert.first_activity or alert.created_at)
    indicators = [
        {
            **common,
            "type": "indicator",
            "id": _sid("indicator", alert.id, sha),
            "name": f"File seen in: {alert.title}",
            "pattern": f"[file:hashes.'SHA-256' = '{sha}']",
            "pattern_type": "stix",
            "valid_from": valid_from,
            "indicator_types": ["malicious-activity"],
        }
        for sha in scope.file_hashes(alert.scope)
    ]
    targets = [
        {
            **common,
            "type": "relationship",
            "id": _sid("relationship", alert.id, p["id"], victim["id"]),
            "relationship_type": "targets",
            "source_ref": p["id"],
            "target_ref": victim["id"],
        }
        for p in patterns
    ]
    related = [victim, *patterns, *indicators, *targets]
    report = {
        **common,
        "type": "report",
        "id": _sid("report", "alert", alert.id),
        "name": alert.title,
        "description": alert.executive_summary,
        "report_types": ["attack-pattern"] if patterns else ["threat-report"],
        "published": created,
        "object_refs": [o["id"] for o in related],
        "labels": [alert.tag.lower().replace(" ", "-"), alert.severity],
    }
    return {
        "type": "bundle",
        "id": _sid("bundle", "alert", alert.id, modified),
        "objects": [provider, report, *related],
    }
