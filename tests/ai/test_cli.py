from __future__ import annotations

import json

from click.testing import CliRunner

from huntwatch.ai import train
from huntwatch.cli import main
from huntwatch.state import Database
from tests.ai.helpers import make_story, synthetic_examples


def test_list_activate_score_and_noise(db: Database) -> None:
    make_story(db, "acme", significance=80, severity="high", tactics=("Execution",), n=2)
    make_story(db, "acme", significance=20)
    old, _ = train(db, lab=synthetic_examples(120, seed=1), validate=False)
    new, _ = train(db, lab=synthetic_examples(120, seed=2), validate=False)
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["model", "list", "--format", "json"]).output)
    assert [r["version"] for r in listed if r["active"]] == [new.version]
    out = runner.invoke(main, ["model", "activate", old.version])
    assert out.exit_code == 0 and old.version in out.output
    scored = runner.invoke(main, ["model", "score", "--tenant", "acme", "--format", "json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["model_version"] == old.version
    noise = runner.invoke(main, ["model", "noise", "--tenant", "acme", "--devices", "50", "--format", "json"])
    assert noise.exit_code == 0, noise.output
    body = json.loads(noise.output)
    assert body["devices"] == 50 and len(body["queued"]) + len(body["suppressed"]) == 2
    bad = runner.invoke(main, ["model", "activate", "ranking-missing"])
    assert bad.exit_code != 0 and "no model version" in bad.output
