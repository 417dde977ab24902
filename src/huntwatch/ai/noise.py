"""The noise budget: how many stories a tenant's queue may carry per 100 devices per week, and what gives.

A provider promises customers few, meaningful notifications. The budget turns that promise into a score
threshold for the expert queue: the highest-scored open stories fill the budget (minus what was already
published in the period), stories above ``must_show`` are never suppressed whatever the budget, and every
suppressed story is listed with its reason so nothing disappears silently.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from huntwatch.lake import DuckDBEngine
from huntwatch.state import Alert, Database, Story, Tenant, Verdict

DEFAULT_BUDGET = 3.0  # queued-or-published stories per 100 devices per week
MUST_SHOW = 0.9  # a story scored this high reaches the queue even beyond the budget
BENIGN_VERDICTS = ("benign_true_positive", "false_positive")


@dataclass
class NoiseReport:
    tenant: str
    devices: int
    weeks: float
    budget_per_100_per_week: float
    allowed: int
    published: int
    published_rate_per_100_per_week: float
    threshold: float | None  # the lowest score still queued; the tenant's ranking threshold
    queued: list[dict[str, Any]] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _device_count(engine: DuckDBEngine | None, tenant: str, stories: list[Story]) -> int:
    if engine is not None:
        try:
            t = engine.query("SELECT count(DISTINCT lower(DeviceName)) AS n FROM RawEvents", tenant)
            n = int(t.to_pylist()[0]["n"] or 0)
            if n:
                return n
        except Exception:  # no lake data for this tenant: fall back to what the stories name
            pass
    return len({d.get("name") for st in stories for d in (st.scope or {}).get("devices", [])}) or 1


def noise_budget(
    db: Database,
    tenant: str,
    *,
    engine: DuckDBEngine | None = None,
    devices: int | None = None,
    budget: float = DEFAULT_BUDGET,
    must_show: float = MUST_SHOW,
) -> NoiseReport:
    """Split the tenant's open stories into queued and suppressed under the budget, with reasons."""
    with db.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        if tenant_id is None:
            raise ValueError(f"no tenant {tenant!r}")
        stories = list(s.scalars(select(Story).where(Story.tenant_id == tenant_id, Story.status != "merged")))
        verdicts: dict[int, str] = {}
        for v in s.scalars(select(Verdict).where(Verdict.tenant_id == tenant_id).order_by(Verdict.at, Verdict.id)):
            verdicts[v.story_id] = v.verdict
        published_ids = {
            a for a in s.scalars(select(Alert.story_id).where(Alert.tenant_id == tenant_id, Alert.is_sample.is_(False)))
        }
        n_devices = devices or _device_count(engine, tenant, stories)
        if stories:
            first = min(st.first_seen for st in stories)
            last = max(st.last_seen for st in stories)
        else:
            first = last = dt.datetime(2000, 1, 1)
        weeks = max((last - first).total_seconds() / (7 * 86400), 1 / 7)
        allowed = max(1, math.ceil(budget * n_devices / 100 * weeks))
        published = [st for st in stories if st.id in published_ids]
        report = NoiseReport(
            tenant,
            n_devices,
            round(weeks, 3),
            budget,
            allowed,
            len(published),
            round(len(published) / (n_devices / 100) / weeks, 3),
            None,
        )
        room = max(allowed - len(published), 0)
        pending = []
        for st in stories:
            score = st.score if st.score is not None else (st.significance or 0.0) / 100
            row = {"story_id": st.id, "title": st.title, "score": round(float(score), 4)}
            if st.id in published_ids:
                continue
            if st.status != "open":
                report.suppressed.append({**row, "reason": f"story is {st.status}"})
            elif verdicts.get(st.id) in BENIGN_VERDICTS:
                report.suppressed.append({**row, "reason": f"expert verdict: {verdicts[st.id]}"})
            else:
                pending.append(row)
        pending.sort(key=lambda r: (-r["score"], r["story_id"]))
        for rank, row in enumerate(pending, start=1):
            if rank <= room or row["score"] >= must_show:
                why = "within budget" if rank <= room else f"score {row['score']} ≥ must-show {must_show}"
                report.queued.append({**row, "reason": why})
            else:
                report.suppressed.append(
                    {
                        **row,
                        "reason": f"over budget: rank {rank} beyond the {room} queue slot(s) left of {allowed} "
                        f"({budget} per 100 devices per week × {n_devices} devices × {weeks:.2f} weeks)",
                    }
                )
    if report.queued:
        report.threshold = min(r["score"] for r in report.queued)
    return report
