"""Hunting: hunts as data files, Sigma rules, analytics, the incremental runner; writes leads."""

from huntwatch.hunting.analytics import Analytic, default_analytics
from huntwatch.hunting.attack import TACTIC_ORDER, AttackCatalog, canonical_tactic, default_catalog, tactic_rank
from huntwatch.hunting.coverage import CoverageReport, coverage
from huntwatch.hunting.leads import ENTITY_KINDS, SEVERITIES, LeadCandidate
from huntwatch.hunting.model import Hunt, HuntError, Requirement, load_hunts
from huntwatch.hunting.runner import HuntReport, Outcome, hunt_candidates, run_hunts
from huntwatch.hunting.store import ensure_tenant, list_leads, save_candidates

__all__ = [
    "ENTITY_KINDS",
    "SEVERITIES",
    "TACTIC_ORDER",
    "Analytic",
    "AttackCatalog",
    "CoverageReport",
    "Hunt",
    "HuntError",
    "HuntReport",
    "LeadCandidate",
    "Outcome",
    "Requirement",
    "canonical_tactic",
    "coverage",
    "default_analytics",
    "default_catalog",
    "ensure_tenant",
    "hunt_candidates",
    "list_leads",
    "load_hunts",
    "run_hunts",
    "save_candidates",
    "tactic_rank",
]
