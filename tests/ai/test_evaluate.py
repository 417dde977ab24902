from __future__ import annotations

import numpy as np

from huntwatch.ai.coldstart import Example
from huntwatch.ai.evaluate import evaluate, learning_curve, ranking_metrics
from huntwatch.ai.ranking import train_model
from tests.ai.helpers import synthetic_examples


def _ex(labels: list[int]) -> list[Example]:
    return [Example("lab:t", "story", i, {"prior": 0.0}, y) for i, y in enumerate(labels)]


def test_metrics_on_a_known_ranking() -> None:
    ex = _ex([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    scores = np.linspace(1, 0, len(ex))  # ranked in order: attacks at positions 1, 3 and 20
    m = ranking_metrics(ex, scores)
    assert m["attacks"] == 3 and m["precision_at_5"] == 0.4 and m["recall_at_k_attacks"] == round(2 / 3, 4)
    assert m["target_met"] is False and m["attacks_above_benign_p95"] == round(2 / 3, 4)
    perfect = ranking_metrics(ex, np.array([float(e.label) for e in ex]))
    assert perfect["auroc"] == 1.0 and perfect["target_met"] is True


def test_learning_curve_starts_at_the_prior_and_improves_with_verdicts() -> None:
    pool = synthetic_examples(300, seed=5)
    heldout = synthetic_examples(150, seed=6)
    for e in heldout:
        e.features["prior"] = 40.0  # a prior that knows nothing about these stories
    curve = learning_curve(pool, heldout, sizes=(0, 20, 300, 1000))
    assert [p["model"] for p in curve] == ["prior", "trained", "trained", "trained"]
    assert curve[0]["story"]["auroc"] == 0.5
    assert curve[-1]["used"] == 300 and "only 300" in curve[-1]["note"]
    assert curve[2]["story"]["auroc"] > curve[0]["story"]["auroc"] + 0.2


def test_evaluate_reports_model_and_prior_side_by_side() -> None:
    pool, heldout = synthetic_examples(200, seed=1), synthetic_examples(80, seed=2)
    report = evaluate(heldout, model=train_model(pool), pool=pool, sizes=(0, 50))
    assert set(report["heldout_lab"]) == {"prior", "model"}
    assert report["heldout_lab"]["model"]["story"]["auroc"] >= report["heldout_lab"]["prior"]["story"]["auroc"] - 0.05
    assert [p["verdicts"] for p in report["learning_curve"]] == [0, 50]
