"""Small state fixtures for the AI tests: stories and leads written straight into a SQLite database."""

from __future__ import annotations

import datetime as dt
import random

from huntwatch.ai.coldstart import Example
from huntwatch.ai.features import FEATURE_NAMES
from huntwatch.state import Database, Lead, Story, Tenant

T0 = dt.datetime(2026, 11, 2, 9, 0)


def synthetic_examples(n: int = 120, seed: int = 1, source: str = "lab:synthetic") -> list[Example]:
    """Attacks reach further in the kill chain, at higher severity, more often on servers: learnable, noisy."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = int(rng.random() < 0.35)
        f = dict.fromkeys(FEATURE_NAMES, 0.0)
        f["prior"] = rng.gauss(55 if label else 35, 15)
        f["max_severity"] = float(min(4, max(0, round(rng.gauss(3 if label else 2, 0.8)))))
        f["tactics"] = float(max(0, round(rng.gauss(4 if label else 1.5, 1))))
        f["kill_chain_span"] = f["tactics"] * 1.5
        f["on_server"] = float(rng.random() < (0.6 if label else 0.3))
        f["leads"] = float(1 + rng.randint(0, 6))
        out.append(Example(source, "story", i, f, label, "synthetic"))
    return out


def make_story(
    db: Database,
    tenant: str,
    *,
    significance: float,
    severity: str = "medium",
    tactics: tuple[str, ...] = (),
    n: int = 1,
) -> int:
    """A story with ``n`` leads on one workstation; returns its id."""
    with db.session() as s:
        t = s.query(Tenant).filter_by(slug=tenant).one_or_none()
        if t is None:
            t = Tenant(slug=tenant, name=tenant)
            s.add(t)
            s.flush()
        story = Story(
            tenant_id=t.id,
            title=f"story {significance}",
            significance=significance,
            scope={
                "significance": {
                    "score": significance,
                    "components": {"severity": 10.0, "kill_chain": significance - 10},
                }
            },
            first_seen=T0,
            last_seen=T0 + dt.timedelta(hours=2),
        )
        s.add(story)
        s.flush()
        for i in range(n):
            s.add(
                Lead(
                    tenant_id=t.id,
                    hunt_id=f"hunt-{severity}-{i}",
                    source="hunt",
                    title="lead",
                    severity=severity,
                    tactics=list(tactics),
                    entities={"device": ["wks-0001.corp.example"], "account": ["CORP\\alice"]},
                    evidence=[{"table": "RawEvents", "key": f"k{story.id}-{i}"}],
                    first_seen=T0 + dt.timedelta(minutes=i),
                    last_seen=T0 + dt.timedelta(minutes=i + 5),
                    dedup_key=f"{story.id}-{i}",
                    story_id=story.id,
                )
            )
        return story.id
