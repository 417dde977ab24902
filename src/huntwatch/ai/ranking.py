"""The hunter-trained ranking model: gradient boosting with calibrated probabilities, and its explanations.

Training data are labelled examples (expert verdicts first, lab ground truth for the cold start). The
estimator is scikit-learn's ``HistGradientBoostingClassifier`` (monotone in the features that can only
make an attack likelier) inside ``CalibratedClassifierCV`` so the score reads as a probability. An
explanation is exact and deterministic: each feature's effect is the score change when that feature alone
is set back to its training median, the baseline an expert can picture as "an ordinary story".

A model trained on few examples is shrunk toward the transparent prior: the score is
``w * model + (1 - w) * prior / 100`` with ``w = n / (n + PRIOR_WEIGHT_EXAMPLES)``, so a handful of
verdicts nudges the ranking instead of replacing it, and the model earns its say as verdicts accumulate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from huntwatch.ai.coldstart import Example
from huntwatch.ai.features import FEATURE_NAMES, FEATURES, INCREASING

VERDICT_LABELS = {"confirmed_attack": 1, "benign_true_positive": 0, "false_positive": 0}
# Data are small: OpenMP threads only spin, and on a busy 2-core host they made a fit 30x slower.
OMP_THREADS = 1
MIN_PER_CLASS = 4  # fewer examples of a class than this cannot be calibrated honestly
EXPLAIN_TOP = 6
PRIOR_WEIGHT_EXAMPLES = 100  # training examples at which model and prior count equally


class TrainingError(ValueError):
    """The examples cannot train a model (e.g. one class missing)."""


@dataclass
class RankingModel:
    """A fitted model with what it needs to score and explain: feature order and training medians."""

    estimator: Any
    features: tuple[str, ...]
    medians: dict[str, float]
    trained_on: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([[float(r.get(f, self.medians[f])) for f in self.features] for r in rows], dtype=float)

    @property
    def model_weight(self) -> float:
        """How much the fitted model counts against the prior (grows with the examples it learnt from)."""
        if "prior" not in self.features:
            return 1.0
        n = self.trained_on.get("examples", 0)
        return n / (n + PRIOR_WEIGHT_EXAMPLES)

    def predict(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Probability that each story is a true attack."""
        if not rows:
            return np.zeros(0)
        return self._score(self.matrix(rows))

    def _score(self, x: np.ndarray) -> np.ndarray:
        with threadpool_limits(OMP_THREADS, user_api="openmp"):
            fitted = np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=float)
        w = self.model_weight
        if w >= 1.0:
            return fitted
        prior = np.clip(x[:, self.features.index("prior")] / 100.0, 0.0, 1.0)
        return w * fitted + (1.0 - w) * prior

    def explain(self, row: Mapping[str, float], top: int = EXPLAIN_TOP) -> list[dict[str, Any]]:
        """The features that moved this score most, up or down, against the training median of each."""
        x = self.matrix([row])
        variants = np.repeat(x, len(self.features) + 1, axis=0)
        for j, f in enumerate(self.features):
            variants[j + 1, j] = self.medians[f]
        p = self._score(variants)
        effects = []
        for j, f in enumerate(self.features):
            effect = float(p[0] - p[j + 1])
            if abs(effect) >= 0.005:
                effects.append(
                    {
                        "feature": f,
                        "description": FEATURES.get(f, f),
                        "value": round(float(x[0, j]), 4),
                        "baseline": round(self.medians[f], 4),
                        "effect": round(effect, 4),
                        "direction": "up" if effect > 0 else "down",
                    }
                )
        effects.sort(key=lambda e: (-abs(e["effect"]), e["feature"]))
        return effects[:top]

    def fingerprint(self) -> str:
        """A digest of what the model predicts on a fixed probe grid: equal models, equal fingerprints."""
        probe = np.array([[self.medians[f] * k for f in self.features] for k in (0.0, 0.5, 1.0, 2.0, 4.0)])
        with threadpool_limits(OMP_THREADS, user_api="openmp"):
            p = self.estimator.predict_proba(probe)
        return hashlib.sha256(np.round(p, 10).tobytes()).hexdigest()[:16]


def _monotone(features: Sequence[str]) -> list[int]:
    return [1 if f in INCREASING else 0 for f in features]


def train_model(
    examples: Sequence[Example],
    *,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
    features: Sequence[str] = FEATURE_NAMES,
) -> RankingModel:
    """Fit and calibrate on labelled examples; ``weights`` by source prefix (e.g. ``{"verdict": 3}``)."""
    y = np.array([e.label for e in examples], dtype=int)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if min(positives, negatives) < MIN_PER_CLASS:
        raise TrainingError(
            f"need at least {MIN_PER_CLASS} true-attack and {MIN_PER_CLASS} benign examples; "
            f"have {positives} and {negatives}"
        )
    feats = tuple(features)
    x = np.array([[e.features.get(f, 0.0) for f in feats] for e in examples], dtype=float)
    w = np.array([_weight(e.source, weights or {}) for e in examples], dtype=float)
    params = {
        "max_iter": 60,
        "learning_rate": 0.15,
        "max_leaf_nodes": 8,
        "min_samples_leaf": 5,
        "l2_regularization": 1.0,
        "calibration": "sigmoid",
        "cv": int(min(3, positives, negatives)),
        "seed": seed,
    }
    base = HistGradientBoostingClassifier(
        max_iter=params["max_iter"],
        learning_rate=params["learning_rate"],
        max_leaf_nodes=params["max_leaf_nodes"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        monotonic_cst=_monotone(feats),
        random_state=seed,
    )
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=params["cv"], shuffle=True, random_state=seed)
    estimator = CalibratedClassifierCV(base, method="sigmoid", cv=cv)
    with threadpool_limits(OMP_THREADS, user_api="openmp"):
        estimator.fit(x, y, sample_weight=w)
    medians = {f: float(np.median(x[:, j])) for j, f in enumerate(feats)}
    trained_on = {"examples": len(examples), "attacks": positives, "benign": negatives}
    for e in examples:
        kind = e.source.split(":", 1)[0]
        trained_on[f"from_{kind}"] = trained_on.get(f"from_{kind}", 0) + 1
    return RankingModel(estimator, feats, medians, trained_on, params)


def _weight(source: str, weights: Mapping[str, float]) -> float:
    return float(weights.get(source.split(":", 1)[0], 1.0))


def prior_explanation(significance: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The transparent prior's own components, in the same shape as a model explanation."""
    components = (significance or {}).get("components") or {}
    out = [
        {
            "feature": f"prior.{name}",
            "description": f"significance component {name.replace('_', ' ')} (points out of 100)",
            "value": float(points),
            "baseline": 0.0,
            "effect": round(float(points) / 100, 4),
            "direction": "up" if float(points) > 0 else "down",
        }
        for name, points in components.items()
        if float(points) != 0
    ]
    out.sort(key=lambda e: (-abs(e["effect"]), e["feature"]))
    return out
