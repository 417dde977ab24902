"""Reading a generated lab back, for the tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from huntwatch.lab import LabManifest


def read_events(manifest: LabManifest) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(relative file, line number, event) for every event of a lab, in file order."""
    for rel in manifest.files:
        with (Path(manifest.out_dir) / rel).open("rb") as fh:
            for n, line in enumerate(fh, start=1):
                yield rel, n, json.loads(line)
