"""The runner with a real Sigma rule set: leads, watermark, no duplicates on rerun."""

from __future__ import annotations

import pytest

from huntwatch.hunting.runner import SIGMA_ID, load_sigma, run_hunts
from huntwatch.hunting.store import list_leads
from huntwatch.ingest import ingest_paths

from .conftest import FIXTURES, SHARED


@pytest.mark.slow
def test_sigma_rules_run_beside_hunts(engine, db):
    ingest_paths(engine, "t1", [SHARED / "datasets" / "hayabusa-sample-evtx/DeepBlueCLI/powersploit-security.evtx.gz"])
    sigma = load_sigma([FIXTURES / "sigma"])
    report = run_hunts(engine, db, "t1", hunts=[], analytics=[], sigma=sigma)
    outcome = next(o for o in report.outcomes if o.id == SIGMA_ID)
    assert outcome.error is None and outcome.added >= 1
    leads = list_leads(db, "t1")
    assert {x.source for x in leads} == {"sigma"} and all("Execution" in x.tactics for x in leads)
    again = run_hunts(engine, db, "t1", hunts=[], analytics=[], sigma=sigma)
    assert again.added == 0 and next(o for o in again.outcomes if o.id == SIGMA_ID).skipped
