"""Scoring a tenant's stories: ``Story.score`` and ``Story.score_explanation``, one ``rescored`` event each.

Without a usable model the score is the transparent prior (significance / 100) and the explanation lists
the prior's own components, so the queue never goes unranked and the expert always sees why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from huntwatch.ai.features import tenant_story_features
from huntwatch.ai.noise import DEFAULT_BUDGET, noise_budget
from huntwatch.ai.ranking import prior_explanation
from huntwatch.ai.registry import Loaded, load_active
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database, Story, StoryEvent, Tenant


class ModelFallbackWarning(UserWarning):
    """Scores came from the transparent prior because no usable model was found."""


@dataclass
class ScoreReport:
    tenant: str
    model_version: str | None
    fallback: bool
    warning: str | None = None
    scores: dict[int, float] = field(default_factory=dict)
    queue_threshold: float | None = None  # from the tenant's noise budget
    queued: list[int] = field(default_factory=list)
    suppressed: dict[int, str] = field(default_factory=dict)  # story id → why it waits

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "model_version": self.model_version,
            "fallback": self.fallback,
            "warning": self.warning,
            "scored": len(self.scores),
            "scores": {str(k): v for k, v in sorted(self.scores.items())},
            "queue_threshold": self.queue_threshold,
            "queued": self.queued,
            "suppressed": {str(k): v for k, v in sorted(self.suppressed.items())},
        }


def score_stories(
    db: Database,
    tenant: str,
    *,
    loaded: Loaded | None = None,
    engine: DuckDBEngine | None = None,
    budget: float = DEFAULT_BUDGET,
    actor: str = "system",
) -> ScoreReport:
    """Score every open or closed story of ``tenant`` with the active model (or the prior, with a warning),
    then apply the tenant's noise budget: the report says which stories the queue shows and why others wait."""
    loaded = loaded if loaded is not None else load_active(db)
    model = loaded.model
    report = ScoreReport(tenant, loaded.version if model else None, model is None, loaded.warning)
    if model is None and loaded.warning:
        warnings.warn(loaded.warning, ModelFallbackWarning, stacklevel=2)
    with db.session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        if tenant_id is None:
            raise ValueError(f"no tenant {tenant!r}")
        feats = tenant_story_features(s, tenant_id)
        ids = sorted(feats)
        stories = {st.id: st for st in s.scalars(select(Story).where(Story.id.in_(ids)))}
        probs = model.predict([feats[i] for i in ids]) if model is not None else None
        for n, sid in enumerate(ids):
            story = stories[sid]
            if model is not None and probs is not None:
                score = round(float(probs[n]), 4)
                explanation = model.explain(feats[sid])
            else:
                score = round(min(max(float(story.significance or 0.0) / 100, 0.0), 1.0), 4)
                explanation = prior_explanation((story.scope or {}).get("significance"))
            previous = story.score
            story.score = score
            story.score_explanation = explanation
            report.scores[sid] = score
            if previous != score:
                s.add(
                    StoryEvent(
                        story_id=sid,
                        actor=actor,
                        action="rescored",
                        detail={
                            "score": score,
                            "previous": previous,
                            "model_version": report.model_version,
                            "fallback": report.fallback,
                            "warning": report.warning,
                        },
                    )
                )
    noise = noise_budget(db, tenant, engine=engine, budget=budget)
    report.queue_threshold = noise.threshold
    report.queued = [r["story_id"] for r in noise.queued]
    report.suppressed = {r["story_id"]: r["reason"] for r in noise.suppressed}
    return report
