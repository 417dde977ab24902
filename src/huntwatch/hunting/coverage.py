"""Coverage gaps: which hunts and Sigma log sources cannot fire on what a tenant actually sends.

"Known gaps are better than unknown gaps": a tenant that sends no Sysmon process events gets no
process hunts, and should be told so rather than see an empty queue. A detector can fire when ANY of
its requirements is met (alternatives, e.g. Sysmon 1 or Security 4688); a requirement is met when the
tenant sends that channel and, if event ids are listed, at least one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from huntwatch.hunting.analytics.base import Analytic
from huntwatch.hunting.attack import TACTIC_ORDER, canonical_tactic
from huntwatch.hunting.model import Hunt, Requirement
from huntwatch.lake import DuckDBEngine


@dataclass(frozen=True)
class Detector:
    """Anything that yields leads (hunt, analytic, Sigma rule or log source) and what it needs."""

    id: str
    kind: str  # hunt | analytic | sigma
    title: str
    tactics: tuple[str, ...]
    requires: tuple[Requirement, ...]
    table: str = ""


@dataclass
class DetectorStatus:
    detector: Detector
    can_fire: bool
    missing: list[str]  # requirements not met, as "Channel: ids"


@dataclass
class TacticStatus:
    tactic: str
    detectors: int
    can_fire: int

    @property
    def status(self) -> str:
        if self.detectors == 0:
            return "no detectors"
        if self.can_fire == 0:
            return "blind"
        return "covered" if self.can_fire == self.detectors else "partial"


@dataclass
class CoverageReport:
    tenant: str
    sources: dict[str, dict[int, int]]  # channel -> event id -> events
    detectors: list[DetectorStatus] = field(default_factory=list)
    tactics: list[TacticStatus] = field(default_factory=list)

    @property
    def blind(self) -> list[DetectorStatus]:
        return [d for d in self.detectors if not d.can_fire]

    def blind_log_sources(self) -> list[dict[str, Any]]:
        """Log sources (requirement sets) no detector can use here, with how many detectors need them."""
        counts: dict[tuple[str, ...], int] = {}
        for d in self.blind:
            key = tuple(d.missing)
            counts[key] = counts.get(key, 0) + 1
        return [{"needs": list(k), "detectors": n} for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]

    @property
    def blind_tactics(self) -> list[str]:
        return [t.tactic for t in self.tactics if t.status == "blind"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "sources": {ch: {str(k): v for k, v in ids.items()} for ch, ids in self.sources.items()},
            "detectors": len(self.detectors),
            "can_fire": len(self.detectors) - len(self.blind),
            "blind_detectors": [
                {"id": d.detector.id, "kind": d.detector.kind, "tactics": list(d.detector.tactics), "needs": d.missing}
                for d in self.blind
            ],
            "tactics": [
                {"tactic": t.tactic, "status": t.status, "detectors": t.detectors, "can_fire": t.can_fire}
                for t in self.tactics
            ],
            "blind_tactics": self.blind_tactics,
            "blind_log_sources": self.blind_log_sources(),
        }


def tenant_sources(engine: DuckDBEngine, tenant: str) -> dict[str, dict[int, int]]:
    """Channels and event ids a tenant sends, with counts (from RawEvents, which holds every event)."""
    rows = engine.query('SELECT "Channel", "EventID", count(*) AS n FROM "RawEvents" GROUP BY ALL', tenant).to_pylist()
    out: dict[str, dict[int, int]] = {}
    for r in rows:
        if r["Channel"] is not None:
            out.setdefault(r["Channel"], {})[int(r["EventID"] or 0)] = r["n"]
    return out


def hunt_detectors(hunts: Iterable[Hunt]) -> list[Detector]:
    return [Detector(h.id, "hunt", h.title, h.tactics, h.requires, h.table) for h in hunts]


def analytic_detectors(analytics: Iterable[Analytic]) -> list[Detector]:
    return [Detector(a.id, "analytic", a.title, a.tactics, a.requires, a.table) for a in analytics]


def sigma_detectors(sigma: Any) -> list[Detector]:
    """Sigma rules as detectors: each rule of ``sigma.rules`` with ``id``, ``title``, ``tactics``, ``sources``.

    ``sources`` are the rule's log-source alternatives (objects with ``channel`` and ``event_ids``).
    """
    out = []
    for rule in getattr(sigma, "rules", ()):
        tactics = []
        for t in getattr(rule, "tactics", ()):
            try:
                tactics.append(canonical_tactic(t))
            except ValueError:
                continue
        reqs = tuple(Requirement(s.channel, tuple(s.event_ids)) for s in getattr(rule, "sources", ()))
        out.append(Detector(str(rule.id), "sigma", str(rule.title), tuple(dict.fromkeys(tactics)), reqs, "RawEvents"))
    return out


def _met(req: Requirement, sources: dict[str, dict[int, int]]) -> bool:
    ids = next((v for ch, v in sources.items() if ch.lower() == req.channel.lower()), None)
    if ids is None:
        return False
    return not req.event_ids or any(i in ids for i in req.event_ids)


def _describe(req: Requirement) -> str:
    return f"{req.channel}: {', '.join(map(str, req.event_ids))}" if req.event_ids else req.channel


def coverage_of(
    tenant: str, sources: dict[str, dict[int, int]], detectors: Sequence[Detector], tables_with_rows: set[str]
) -> CoverageReport:
    """Pure part of ``coverage``: decide per detector and per tactic from the tenant's sources."""
    report = CoverageReport(tenant=tenant, sources=sources)
    for d in detectors:
        if d.requires:
            can = any(_met(r, sources) for r in d.requires)
            missing = [] if can else [_describe(r) for r in d.requires]
        else:
            can = d.table in tables_with_rows
            missing = [] if can else [f"any event in {d.table}"]
        report.detectors.append(DetectorStatus(d, can, missing))
    for tactic in TACTIC_ORDER:
        mine = [s for s in report.detectors if tactic in s.detector.tactics]
        report.tactics.append(TacticStatus(tactic, len(mine), sum(s.can_fire for s in mine)))
    return report


def coverage(
    engine: DuckDBEngine,
    tenant: str,
    hunts: Iterable[Hunt],
    sigma: Any = None,
    analytics: Iterable[Analytic] | None = None,
) -> CoverageReport:
    """Which hunts, analytics and Sigma rules cannot fire for this tenant, and which tactics are blind."""
    from huntwatch.hunting.analytics import default_analytics

    detectors = hunt_detectors(hunts) + analytic_detectors(default_analytics() if analytics is None else analytics)
    if sigma is not None:
        detectors += sigma_detectors(sigma)
    catalog = engine.store.catalog(tenant)
    tables_with_rows = {name for b in catalog.batches for name, n in b.rows.items() if n}
    return coverage_of(tenant, tenant_sources(engine, tenant), detectors, tables_with_rows)
