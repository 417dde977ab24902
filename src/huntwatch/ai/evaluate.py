"""How good the ranking is, measured where it was not trained: held-out lab tenants and labelled recordings.

Metrics per unit (stories; leads taken alone): AUROC, precision@k, recall of true attacks at the 0.5
score and within the top k, and the target the issue sets: the share of true attack stories scored above
the 95th percentile of benign ones. The learning curve trains on n simulated verdicts (labelled examples
drawn from the training labs, seeded) and measures on the same held-out set; 0 verdicts is the prior.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from huntwatch.ai.coldstart import Example, run_pipeline, tenant_examples
from huntwatch.ai.ranking import RankingModel, TrainingError, train_model
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database

CURVE = (0, 50, 200, 1000)
KS = (5, 10, 20)
Scorer = Callable[[Sequence[Example]], np.ndarray]


def prior_scores(examples: Sequence[Example]) -> np.ndarray:
    """The transparent prior as a probability-like score (what ranks the queue with no model)."""
    return np.array([e.features.get("prior", 0.0) / 100 for e in examples], dtype=float)


def model_scorer(model: RankingModel) -> Scorer:
    return lambda examples: model.predict([e.features for e in examples])


def ranking_metrics(examples: Sequence[Example], scores: np.ndarray) -> dict[str, Any]:
    """AUROC, precision@k, recall, and the p95-of-benign target for one set of scored examples."""
    y = np.array([e.label for e in examples], dtype=int)
    out: dict[str, Any] = {"n": len(y), "attacks": int(y.sum()), "benign": int(len(y) - y.sum())}
    if len(y) == 0:
        return out
    order = np.argsort(-scores, kind="stable")
    for k in KS:
        if k <= len(y):
            out[f"precision_at_{k}"] = round(float(y[order[:k]].mean()), 4)
    if y.sum():
        out["recall_at_0.5"] = round(float((scores[y == 1] >= 0.5).mean()), 4)
        out["recall_at_k_attacks"] = round(float(y[order[: int(y.sum())]].sum() / y.sum()), 4)
    if 0 < y.sum() < len(y):
        out["auroc"] = round(float(roc_auc_score(y, scores)), 4)
        p95 = float(np.percentile(scores[y == 0], 95))
        out["benign_p95"] = round(p95, 4)
        above = scores[y == 1] > p95
        out["attacks_above_benign_p95"] = round(float(above.mean()), 4)
        out["target_met"] = bool(above.all())
    return out


def by_unit(examples: Sequence[Example], scorer: Scorer) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for unit in ("story", "lead"):
        part = [e for e in examples if e.unit == unit]
        result[unit] = ranking_metrics(part, scorer(part) if part else np.zeros(0))
    return result


def learning_curve(
    pool: Sequence[Example], heldout: Sequence[Example], *, sizes: Sequence[int] = CURVE, seed: int = 0
) -> list[dict[str, Any]]:
    """Quality on ``heldout`` after n simulated verdicts drawn from ``pool`` (0: the prior alone)."""
    order = list(pool)
    random.Random(seed).shuffle(order)
    points = []
    for n in sizes:
        used = min(n, len(order))
        point: dict[str, Any] = {"verdicts": n, "used": used}
        if used == 0:
            point["model"] = "prior"
            point.update(by_unit(heldout, prior_scores))
        else:
            try:
                model = train_model(order[:used], seed=seed)
                point["model"] = "trained"
                point.update(by_unit(heldout, model_scorer(model)))
            except TrainingError as exc:
                point["model"] = "prior"
                point["note"] = str(exc)
                point.update(by_unit(heldout, prior_scores))
        if used < n:
            point["note"] = f"only {used} labelled examples in the training pool"
        points.append(point)
    return points


def _recording(source: str) -> str:
    """The recording a SourceFile came from, spelled like labels.csv (archive members and .gz folded)."""
    return Path(source.split("!", 1)[0]).name.removesuffix(".gz")


def dataset_examples(shared: Path, workdir: Path, *, per_class: int = 12, seed: int = 0) -> list[Example]:
    """Stories from a seeded sample of labelled (ATT&CK-tagged) and unlabelled recordings in one tenant.

    A story is a true attack when any evidence event comes from a labelled recording; stories from
    unlabelled recordings only are the benign side. Recordings are whole attack captures, so "benign"
    here means "not labelled", a weaker label than the lab's ground truth.
    """
    root = shared / "datasets"
    rows = list(csv.DictReader((root / "labels.csv").open()))
    labelled = sorted(r["path"] for r in rows if r["tactics"].strip())
    unlabelled = sorted(r["path"] for r in rows if not r["tactics"].strip())
    rng = random.Random(seed)
    pick = rng.sample(labelled, min(per_class, len(labelled))) + rng.sample(unlabelled, min(per_class, len(unlabelled)))
    paths = [root / p for p in pick if (root / p).exists()]
    workdir.mkdir(parents=True, exist_ok=True)
    engine = DuckDBEngine(workdir / "lake")
    db = Database(f"sqlite:///{workdir / 'state.db'}")
    db.create_all()
    tenant = "datasets"
    run_pipeline(engine, db, tenant, paths)
    attack_files = {_recording(p) for p in pick if p in set(labelled)}
    sources = engine.query("SELECT DISTINCT EventKey, SourceFile FROM RawEvents", tenant).to_pylist()
    truth_keys = {r["EventKey"] for r in sources if _recording(str(r["SourceFile"] or "")) in attack_files}
    return tenant_examples(engine, db, tenant, {}, f"dataset:{tenant}", attack=truth_keys)


def evaluate(
    heldout: Sequence[Example],
    *,
    model: RankingModel | None,
    pool: Sequence[Example] = (),
    datasets: Sequence[Example] = (),
    sizes: Sequence[int] = CURVE,
    seed: int = 0,
) -> dict[str, Any]:
    """The full report: model and prior on held-out labs and datasets, plus the learning curve."""
    report: dict[str, Any] = {
        "heldout_lab": {"prior": by_unit(heldout, prior_scores)},
        "heldout_tenants": sorted({e.source for e in heldout}),
    }
    if model is not None:
        report["heldout_lab"]["model"] = by_unit(heldout, model_scorer(model))
    if datasets:
        report["datasets"] = {"prior": by_unit(datasets, prior_scores)}
        if model is not None:
            report["datasets"]["model"] = by_unit(datasets, model_scorer(model))
    if pool:
        report["learning_curve"] = learning_curve(pool, heldout, sizes=sizes, seed=seed)
    return report
