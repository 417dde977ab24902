"""The entities stories join on, read by built-in hunts off real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntwatch.hunting import load_hunts
from huntwatch.hunting.runner import hunt_candidates
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine
from huntwatch.stories.entities import lead_keys

from .conftest import SHARED

HAYABUSA = SHARED / "datasets" / "hayabusa-sample-evtx"
INSTALLUTIL = HAYABUSA / "YamatoSecurity/DefenseEvasion/T1218.004_SignedBinaryProxyExecutionInstallUtil_Sysmon.evtx.gz"
HUNTS = {h.id: h for h in load_hunts()}

pytestmark = pytest.mark.skipif(not HAYABUSA.exists(), reason="shared datasets not present")


def _leads(tmp_path: Path, recording: Path, hunt: str) -> list:
    engine = DuckDBEngine(tmp_path / "lake")
    assert ingest_paths(engine, "t", [recording]).ok
    con = engine.connect("t")
    try:
        return hunt_candidates(con, HUNTS[hunt])
    finally:
        con.close()


def test_lolbin_lead_names_the_proxied_payload_by_a_path_stories_join_on(tmp_path: Path) -> None:
    # InstallUtil.exe /U C:\Users\pc1-user\Desktop\zoom-update.exe: the payload, not the signed binary
    (lead,) = _leads(tmp_path, INSTALLUTIL, "lolbin-proxy-execution")
    payload = "c:\\users\\pc1-user\\desktop\\zoom-update.exe"
    assert lead.entities["file"] == [payload]
    assert f"file:{payload}" in {k.key for k in lead_keys(lead.entities)}
