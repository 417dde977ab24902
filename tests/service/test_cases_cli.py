"""``huntwatch cases``: SLA targets per plan and the queue from the shell."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from huntwatch.cli import main
from huntwatch.config import settings
from huntwatch.service import accounts, cases, enrollment
from huntwatch.service.access import Actor
from huntwatch.state import Database, utcnow


def test_cases_cli_sets_targets_and_lists_the_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("HUNTWATCH_DATABASE_URL", raising=False)
    run = CliRunner().invoke
    r = run(main, ["cases", "set-sla", "gold", "--first-response-days", "1", "--holiday", "2026-12-25"])
    assert r.exit_code == 0 and "within 1.0 business days" in r.output and "1 holidays" in r.output
    assert run(main, ["cases", "set-sla", "gold", "--weekend", "x"]).exit_code == 2
    assert run(main, ["cases", "set-sla", "gold", "--resolution-days", "0.5"]).exit_code == 1
    db = Database(settings().database_url)
    system = Actor.system("t")
    with db.session() as s:
        tid = accounts.create_tenant(s, system, "acme", "Acme", plan="gold").id
        enrollment.add_subscription(s, system, tid, utcnow() - dt.timedelta(days=1))
        cases.ask(s, system, tid, category="threat_intelligence", question="FIN7?", correspondence_email="a@acme.test")
    rows = json.loads(run(main, ["cases", "list", "--queue", "--tenant", "acme", "--format", "json"]).output)
    assert [(r["tenant"], r["status"], r["clock"]) for r in rows] == [("acme", "submitted", "first_response")]
    assert 0 < rows[0]["hours_left"] <= 24
    assert run(main, ["cases", "list", "--tenant", "nobody"]).exit_code == 1
