"""Reading a lab's ``ground_truth.json`` back: which events are malicious, which merely look it.

The AI's training and evaluation label lake rows with this, so lookups take the lake's own spelling of
a device (lower-case FQDN) as well as the lab's short name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from huntwatch.lab.generate import GROUND_TRUTH

EventRef = tuple[str, str, int]  # (device short name, channel, EventRecordID)


def _device(name: str) -> str:
    return name.split(".", 1)[0].upper()


@dataclass(frozen=True)
class GroundTruth:
    lab: dict[str, Any]
    scenarios: list[dict[str, Any]]
    lookalikes: list[dict[str, Any]]
    _labels: dict[EventRef, tuple[str, str]] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        """From ``ground_truth.json`` or the lab folder holding it."""
        p = Path(path)
        if p.is_dir():
            p = p / GROUND_TRUTH
        doc = orjson.loads(p.read_bytes())
        labels: dict[EventRef, tuple[str, str]] = {}
        for group in (*doc["scenarios"], *doc["benign_lookalikes"]):
            for e in group["events"]:
                labels[(e["device"], e["channel"], e["record_id"])] = (group["id"], e["technique"])
        return cls(doc["lab"], doc["scenarios"], doc["benign_lookalikes"], labels)

    def label(self, device: str, channel: str, record_id: int) -> tuple[str, str] | None:
        """(scenario or look-alike id, technique) of one event, or None for ordinary activity.

        Look-alike labels cover the events listed per activity (a capped sample); scenario labels are complete.
        """
        return self._labels.get((_device(device), channel, int(record_id)))

    def is_attack(self, device: str, channel: str, record_id: int) -> bool:
        hit = self.label(device, channel, record_id)
        return hit is not None and not hit[0].startswith("lookalike:") and self.scenario(hit[0])["kind"] == "attack"

    def scenario(self, key: str) -> dict[str, Any]:
        for s in self.scenarios:
            if s["id"] == key:
                return s
        raise KeyError(key)

    def devices(self, kind: str = "attack") -> set[str]:
        """Short names of the devices touched by scenarios of ``kind`` (``attack`` or ``anomaly``)."""
        return {d for s in self.scenarios if s["kind"] == kind for d in s["devices"]}
