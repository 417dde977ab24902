"""Hunter-trained AI: story features, the calibrated ranking model, anomaly leads, noise budget, evaluation."""

from huntwatch.ai.anomaly import AnomalyReport, find_anomalies
from huntwatch.ai.coldstart import Example, LabSpec, lab_specs
from huntwatch.ai.evaluate import evaluate, ranking_metrics
from huntwatch.ai.features import FEATURES, lead_features, story_features, tenant_story_features
from huntwatch.ai.noise import NoiseReport, noise_budget
from huntwatch.ai.ranking import RankingModel, TrainingError, train_model
from huntwatch.ai.registry import Loaded, activate, list_versions, load_active
from huntwatch.ai.scoring import ModelFallbackWarning, ScoreReport, score_stories
from huntwatch.ai.training import lab_corpus, train, verdict_examples

__all__ = [
    "FEATURES",
    "AnomalyReport",
    "Example",
    "LabSpec",
    "Loaded",
    "ModelFallbackWarning",
    "NoiseReport",
    "RankingModel",
    "ScoreReport",
    "TrainingError",
    "activate",
    "evaluate",
    "find_anomalies",
    "lab_corpus",
    "lab_specs",
    "lead_features",
    "list_versions",
    "load_active",
    "noise_budget",
    "ranking_metrics",
    "score_stories",
    "story_features",
    "tenant_story_features",
    "train",
    "train_model",
    "verdict_examples",
]
