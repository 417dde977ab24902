"""The lab: a seeded, simulated organisation that writes realistic Windows telemetry with ground truth.

``generate(out_dir, devices=, days=, scenarios=, seed=, start=)`` writes flat OTRF/NXLog-shaped NDJSON
(Sysmon, Security, System, PowerShell) per device and day, plus ``ground_truth.json`` naming every
scripted intrusion's events. Used by ``huntwatch demo``/``lab``, tests and cold-start training only;
production code paths never import it.
"""

from huntwatch.lab.generate import GROUND_TRUTH, LabManifest, generate
from huntwatch.lab.scenarios import ATTACK_SCENARIOS, SCENARIOS
from huntwatch.lab.truth import GroundTruth

__all__ = ["ATTACK_SCENARIOS", "GROUND_TRUTH", "SCENARIOS", "GroundTruth", "LabManifest", "generate"]
