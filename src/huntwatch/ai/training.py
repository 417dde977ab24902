"""Training runs: expert verdicts from the state DB plus the cached lab corpus, cross-validated metrics, a version.

Verdicts weigh more than lab examples (``VERDICT_WEIGHT``) because they are this provider's own judgement
on real customers; the lab keeps the model sane before there are enough of them. A later verdict on the
same story replaces an earlier one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sqlalchemy import select

from huntwatch.ai.coldstart import Example, LabSpec, Progress, build_lab_corpus, lab_specs
from huntwatch.ai.features import tenant_story_features
from huntwatch.ai.ranking import VERDICT_LABELS, RankingModel, train_model
from huntwatch.ai.registry import models_dir, save_version
from huntwatch.state import Database, ModelVersion, Tenant, Verdict

VERDICT_WEIGHT = 3.0
TRAIN_SEEDS = range(0, 24)  # lab seeds for cold-start training; evaluation uses EVAL_SEEDS, never these
EVAL_SEEDS = range(1000, 1012)


def verdict_examples(db: Database) -> list[Example]:
    """One example per story that has a verdict (the latest verdict wins), over every tenant."""
    out: list[Example] = []
    with db.session() as s:
        latest: dict[int, Verdict] = {}
        for v in s.scalars(select(Verdict).order_by(Verdict.at, Verdict.id)):
            if v.verdict in VERDICT_LABELS:
                latest[v.story_id] = v
        by_tenant: dict[int, list[int]] = {}
        for v in latest.values():
            by_tenant.setdefault(v.tenant_id, []).append(v.story_id)
        for tenant_id, story_ids in sorted(by_tenant.items()):
            slug = s.get_one(Tenant, tenant_id).slug
            feats = tenant_story_features(s, tenant_id, story_ids)
            for sid in sorted(feats):
                v = latest[sid]
                out.append(Example(f"verdict:{slug}", "story", sid, feats[sid], VERDICT_LABELS[v.verdict], v.verdict))
    return out


_PIPELINE = ("lab", "telemetry", "ingest", "hunting", "stories", "ai/features.py", "ai/coldstart.py")


def _pipeline_digest() -> str:
    """A digest of the code and hunt files that turn a lab into labelled examples: change any, rebuild."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in _PIPELINE:
        target = root / part
        files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.suffix in (".py", ".yml"))
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _specs_key(specs: Sequence[LabSpec]) -> str:
    text = json.dumps([asdict(s) for s in specs]) + _pipeline_digest()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def lab_corpus(
    specs: Sequence[LabSpec], *, cache: Path | None = None, progress: Progress | None = None
) -> list[Example]:
    """The labelled lab examples for ``specs``, built once through the real pipeline and cached as JSON
    (keyed by the specs and the pipeline's code, so a changed hunt or lab never reuses stale labels)."""
    folder = cache or models_dir() / "corpus"
    key = _specs_key(specs)
    path = folder / f"lab-{key}.json"
    if path.exists():
        return [Example.from_dict(d) for d in json.loads(path.read_text())]
    work = folder / f"work-{key}"
    examples = build_lab_corpus(specs, work, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([e.to_dict() for e in examples]))
    tmp.replace(path)
    return examples


def default_lab_specs(tenants: int = len(TRAIN_SEEDS), devices: int = 16, days: int = 2) -> list[LabSpec]:
    return lab_specs(list(TRAIN_SEEDS)[:tenants], devices=devices, days=days)


def cross_validated(examples: Sequence[Example], *, seed: int = 0, folds: int = 3) -> dict[str, Any]:
    """Out-of-fold AUROC and average precision, so a version's metrics are not measured on its training data."""
    y = np.array([e.label for e in examples])
    k = int(min(folds, y.sum(), len(y) - y.sum()))
    if k < 2:
        return {"cv_folds": 0}
    oof = np.zeros(len(examples))
    for train_idx, test_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        part = [examples[i] for i in train_idx]
        try:
            model = train_model(part, seed=seed, weights={"verdict": VERDICT_WEIGHT})
        except ValueError:
            return {"cv_folds": 0}
        oof[test_idx] = model.predict([examples[i].features for i in test_idx])
    return {
        "cv_folds": k,
        "cv_auroc": round(float(roc_auc_score(y, oof)), 4),
        "cv_average_precision": round(float(average_precision_score(y, oof)), 4),
    }


def train(
    db: Database,
    *,
    lab: Sequence[Example] = (),
    seed: int = 0,
    activate: bool = True,
    validate: bool = True,
    params: dict[str, Any] | None = None,
) -> tuple[ModelVersion, RankingModel]:
    """Train on every verdict plus ``lab`` examples, measure by cross-validation (unless ``validate`` is
    False), save and (by default) activate."""
    examples = [*verdict_examples(db), *lab]
    model = train_model(examples, seed=seed, weights={"verdict": VERDICT_WEIGHT})
    metrics = {**model.trained_on, **(cross_validated(examples, seed=seed) if validate else {})}
    row = save_version(
        db, model, metrics, activate=activate, extra_params={**(params or {}), "verdict_weight": VERDICT_WEIGHT}
    )
    return row, model
