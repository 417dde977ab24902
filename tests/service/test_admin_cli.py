from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from huntwatch.cli import main
from huntwatch.config import settings
from huntwatch.service import AuthenticationFailed, accounts
from huntwatch.state import Database


def test_admin_bootstrap_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path))
    monkeypatch.delenv("HUNTWATCH_DATABASE_URL", raising=False)
    run = CliRunner().invoke
    assert run(main, ["admin", "create-tenant", "acme", "--name", "Acme Corp"]).exit_code == 0
    assert run(main, ["admin", "create-tenant", "acme"]).exit_code == 1  # exists
    r = run(main, ["admin", "create-user", "ann@acme.test", "--role", "tenant_admin", "--tenant", "acme",
                   "--password", "long enough pw"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(main, ["admin", "create-user", "e@p.test", "--role", "expert", "--tenant", "acme", "--password", "x" * 12])
    assert r.exit_code == 2  # provider roles have no tenant
    r = run(main, ["admin", "create-token", "--tenant", "acme", "--role", "sensor", "--name", "dc01"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    with Database(settings().database_url).session() as s:
        who = accounts.resolve_token(s, token)
    assert (who.role, who.name) == ("sensor", "dc01")
    tenants = json.loads(run(main, ["admin", "list-tenants", "--format", "json"]).output)
    assert [(t["slug"], t["name"]) for t in tenants] == [("acme", "Acme Corp")]
    users = json.loads(run(main, ["admin", "list-users", "--tenant", "acme", "--format", "json"]).output)
    assert [u["email"] for u in users] == ["ann@acme.test"]
    tokens = json.loads(run(main, ["admin", "list-tokens", "--format", "json"]).output)
    assert tokens[0]["prefix"] == token[:10] and token not in json.dumps(tokens)
    assert run(main, ["admin", "list-users", "--tenant", "nope"]).exit_code != 0
    r = run(main, ["admin", "set-password", "ann@acme.test", "--password", "another long pw"])
    assert r.exit_code == 0, r.output
    with Database(settings().database_url).session() as s:
        accounts.sign_in(s, "ann@acme.test", "another long pw")
    assert run(main, ["admin", "set-password", "nobody@acme.test", "--password", "another long pw"]).exit_code == 1
    assert run(main, ["admin", "revoke-token", str(tokens[0]["id"])]).exit_code == 0
    with Database(settings().database_url).session() as s, pytest.raises(AuthenticationFailed):
        accounts.resolve_token(s, token)
