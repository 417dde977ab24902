"""``hunts test``: run hunts on the recordings that prove them (``proven_by``) and on their benign slices.

Each dataset file is ingested once into its own tenant of a scratch lake, so hunts that share proof
files share the ingestion; the hunt then runs on that tenant alone, without touching the state DB.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huntwatch.hunting.model import Hunt
from huntwatch.hunting.runner import hunt_candidates
from huntwatch.lake import DuckDBEngine


@dataclass
class HuntTestResult:
    hunt_id: str
    file: str
    expect: str  # fire | quiet
    leads: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.leads > 0) == (self.expect == "fire")


def _tenant_for(index: int, file: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(file).name)[:40].strip("._-") or "file"
    return f"t{index:04d}-{stem}"


def prove_hunts(
    hunts: Sequence[Hunt],
    dataset_dir: Path | str,
    lake_dir: Path | str,
    ingest: Callable[..., Any],
    *,
    progress: Callable[[str], None] | None = None,
) -> list[HuntTestResult]:
    """Fire/quiet result of every hunt on each of its ``proven_by`` and ``benign_slice`` files."""
    engine = DuckDBEngine(lake_dir)
    files = sorted({f for h in hunts for f in (*h.proven_by, *h.benign_slice)})
    tenants: dict[str, str] = {}
    missing: dict[str, str] = {}
    for i, file in enumerate(files):
        path = Path(dataset_dir) / file
        if not path.exists():
            missing[file] = f"{path} does not exist"
            continue
        if progress:
            progress(f"ingest {file}")
        tenants[file] = _tenant_for(i, file)
        ingest(engine, tenants[file], [path])
    results: list[HuntTestResult] = []
    for hunt in hunts:
        for file, expect in [(f, "fire") for f in hunt.proven_by] + [(f, "quiet") for f in hunt.benign_slice]:
            if file in missing:
                results.append(HuntTestResult(hunt.id, file, expect, 0, missing[file]))
                continue
            if progress:
                progress(f"{hunt.id} on {file}")
            con = engine.connect(tenants[file])
            con.execute("SET enable_progress_bar = false")
            try:
                leads = len(hunt_candidates(con, hunt, timeout_s=120))
                results.append(HuntTestResult(hunt.id, file, expect, leads))
            except Exception as exc:  # report every failure, keep testing
                results.append(HuntTestResult(hunt.id, file, expect, 0, str(exc).splitlines()[0][:300]))
            finally:
                con.close()
    return results
