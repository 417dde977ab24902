"""The shape every hunt, Sigma rule and analytic produces before it is stored as a ``Lead``."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("informational", "low", "medium", "high", "critical")
# remote_device: a peer named by host name (the workstation a logon came from), tenant device or not.
ENTITY_KINDS = ("device", "account", "process", "file", "remote_ip", "remote_url", "remote_device", "logon")


@dataclass
class LeadCandidate:
    """A finding not yet stored: who found it, what it means, which events prove it."""

    hunt_id: str
    source: str  # hunt | sigma | analytic | anomaly
    title: str
    severity: str
    confidence: float
    tactics: list[str]
    techniques: list[str]
    first_seen: dt.datetime
    last_seen: dt.datetime
    evidence: list[str]  # EventKeys of the matching events (same key in typed tables and RawEvents)
    entities: dict[str, list[str]] = field(default_factory=dict)  # kind (ENTITY_KINDS) -> values
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # what was unusual, counts, compared to what
    group: tuple[str, ...] = ()  # values that identify this finding (device, account, ...) for dedup
    evidence_table: str = "RawEvents"  # schema table holding the evidence rows (every key is in RawEvents)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        unknown = set(self.entities) - set(ENTITY_KINDS)
        if unknown:
            raise ValueError(f"unknown entity kinds {sorted(unknown)}; use {', '.join(ENTITY_KINDS)}")

    @property
    def dedup_key(self) -> str:
        """Same hunt, same group, same first evidence: the same finding, however often it is rerun."""
        first = min(self.evidence) if self.evidence else self.first_seen.isoformat()
        text = "\x1f".join((self.hunt_id, *self.group, first))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
