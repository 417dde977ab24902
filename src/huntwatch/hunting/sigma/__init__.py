"""Sigma rules in Huntwatch: our pySigma backend and Windows pipeline, rule sets evaluated in few scans.

``SigmaRuleSet.load(dirs)`` compiles rule folders (failures kept per file with the reason),
``.check()`` reports, ``.run(engine, tenant, after_seq=)`` yields ``LeadCandidate`` objects
(source ``sigma``, hunt id ``sigma:<rule id>``), ``.sql_for_spark()`` gives the Spark SQL.
"""

from huntwatch.hunting.sigma.backend import HuntwatchBackend
from huntwatch.hunting.sigma.bench import SigmaBenchmark, benchmark_rules
from huntwatch.hunting.sigma.pipeline import Source, windows_pipeline
from huntwatch.hunting.sigma.ruleset import (
    CheckReport,
    CompiledRule,
    Evaluation,
    RuleFailure,
    RuleGroup,
    SigmaRuleSet,
)

__all__ = [
    "CheckReport",
    "CompiledRule",
    "Evaluation",
    "HuntwatchBackend",
    "RuleFailure",
    "RuleGroup",
    "SigmaBenchmark",
    "SigmaRuleSet",
    "Source",
    "benchmark_rules",
    "windows_pipeline",
]
