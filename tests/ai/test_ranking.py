from __future__ import annotations

import numpy as np
import pytest

from huntwatch.ai.ranking import TrainingError, prior_explanation, train_model
from tests.ai.helpers import synthetic_examples


def test_same_examples_and_seed_give_the_same_model() -> None:
    a = train_model(synthetic_examples(), seed=3)
    b = train_model(synthetic_examples(), seed=3)
    assert a.fingerprint() == b.fingerprint()
    rows = [e.features for e in synthetic_examples(20, seed=9)]
    assert np.array_equal(a.predict(rows), b.predict(rows))


def test_scores_are_probabilities_that_rank_attacks_higher() -> None:
    model = train_model(synthetic_examples(200), seed=0)
    test = synthetic_examples(100, seed=42)
    p = model.predict([e.features for e in test])
    assert ((p >= 0) & (p <= 1)).all()
    y = np.array([e.label for e in test])
    assert p[y == 1].mean() > p[y == 0].mean() + 0.2


def test_explanation_is_deterministic_and_names_features_that_moved_the_score() -> None:
    model = train_model(synthetic_examples(200), seed=0)
    strong = dict(model.medians) | {"prior": 90.0, "tactics": 6.0, "kill_chain_span": 9.0, "max_severity": 4.0}
    first = model.explain(strong)
    assert first == model.explain(strong)
    assert first and all(set(e) >= {"feature", "value", "baseline", "effect", "direction"} for e in first)
    assert first[0]["direction"] == "up"
    assert abs(first[0]["effect"]) == max(abs(e["effect"]) for e in first)
    # pushing a feature back to its baseline changes the score by exactly the reported effect
    top = first[0]
    base = dict(strong) | {top["feature"]: model.medians[top["feature"]]}
    assert model.predict([strong])[0] - model.predict([base])[0] == pytest.approx(top["effect"], abs=1e-4)


def test_one_class_cannot_train() -> None:
    only_benign = [e for e in synthetic_examples(100) if e.label == 0]
    with pytest.raises(TrainingError, match="true-attack"):
        train_model(only_benign)


def test_prior_explanation_lists_the_components_that_moved_the_score() -> None:
    out = prior_explanation({"components": {"kill_chain": 20.0, "spread": 0.0, "severity": 15.0, "routine": -30.0}})
    assert [e["feature"] for e in out] == ["prior.routine", "prior.kill_chain", "prior.severity"]
    assert out[0]["effect"] == -0.3 and out[0]["direction"] == "down" and out[1]["effect"] == 0.2


def test_a_model_of_few_verdicts_is_shrunk_toward_the_prior() -> None:
    """With few examples the score stays close to the transparent prior; with many, the model decides."""
    from huntwatch.ai.ranking import PRIOR_WEIGHT_EXAMPLES

    few, many = train_model(synthetic_examples(40), seed=0), train_model(synthetic_examples(900), seed=0)
    assert few.model_weight == pytest.approx(40 / (40 + PRIOR_WEIGHT_EXAMPLES))
    assert many.model_weight > 0.85 > few.model_weight
    row = dict(few.medians) | {"prior": 90.0}
    fitted = float(few.estimator.predict_proba(few.matrix([row]))[0, 1])
    w = few.model_weight
    assert few.predict([row])[0] == pytest.approx(w * fitted + (1 - w) * 0.9)
