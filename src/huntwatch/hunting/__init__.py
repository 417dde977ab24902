"""Hunting: hunts as data files, Sigma rules, analytics, the incremental runner; writes leads."""

from huntwatch.hunting.leads import ENTITY_KINDS, SEVERITIES, LeadCandidate

__all__ = ["ENTITY_KINDS", "SEVERITIES", "LeadCandidate"]
