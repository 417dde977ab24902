from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from huntwatch.service import (
    AccountLocked,
    Actor,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    accounts,
)
from huntwatch.service.audit import list_audit
from huntwatch.state import ApiToken, AuditLog, User, WebSession


def test_passwords_and_tokens_are_not_stored_in_clear(world):
    with world.db.session() as s:
        plain, token = accounts.create_token(s, world.actors["a_admin"], "sensor", world.a, name="dc01")
    assert plain.startswith("hw_") and len(plain) > 40
    with world.db.session() as s:
        stored = s.get(ApiToken, token.id)
        assert stored.token_hash == accounts.sha256(plain) and plain not in stored.token_hash
        user = s.scalar(select(User).where(User.email == "tenant_admin@a.test"))
        assert user.password_hash.startswith("$argon2") and world.password not in user.password_hash
        actor = accounts.resolve_token(s, plain, ip="10.0.0.5")
    assert (actor.role, actor.tenant_id, actor.ip) == ("sensor", world.a, "10.0.0.5")


def test_revoked_and_expired_tokens_fail(world):
    with world.db.session() as s:
        plain, token = accounts.create_token(s, world.actors["a_admin"], "tenant_reader", world.a)
        old, _ = accounts.create_token(
            s, world.actors["provider_admin"], "expert", None, expires_at=dt.datetime(2000, 1, 1)
        )
        accounts.revoke_token(s, world.actors["a_admin"], token.id)
    with world.db.session() as s:
        for value in (plain, old, "hw_nonsense", "not-a-token"):
            with pytest.raises(AuthenticationFailed):
                accounts.resolve_token(s, value)


def test_sign_in_session_and_lockout(world):
    with world.db.session() as s:
        cookie, session = accounts.sign_in(s, "Tenant_Reader@a.test", world.password, ip="192.0.2.1")
    with world.db.session() as s:
        actor, ws = accounts.resolve_session(s, cookie)
        assert actor.role == "tenant_reader" and ws.csrf_token == session.csrf_token
        assert s.scalar(select(WebSession.token_hash)) == accounts.sha256(cookie)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationFailed), world.db.session() as s:
            accounts.sign_in(s, "tenant_reader@a.test", "wrong password!", ip="192.0.2.9")
    # locked now, even with the right password
    with pytest.raises(AccountLocked), world.db.session() as s:
        accounts.sign_in(s, "tenant_reader@a.test", world.password)
    with world.db.session() as s:
        failures = s.scalars(select(AuditLog).where(AuditLog.action == "auth.sign_in_failed")).all()
        assert len(failures) == accounts.MAX_FAILED_LOGINS and all(f.ip == "192.0.2.9" for f in failures)
        user = s.scalar(select(User).where(User.email == "tenant_reader@a.test"))
        user.locked_until = dt.datetime(2000, 1, 1)  # the lock has passed
    with world.db.session() as s:
        accounts.sign_in(s, "tenant_reader@a.test", world.password)


def test_expired_sessions_fail_and_are_purged(world):
    with world.db.session() as s:
        cookie, session = accounts.sign_in(s, "tenant_reader@a.test", world.password)
    with world.db.session() as s:
        s.get(WebSession, session.id).expires_at = dt.datetime(2000, 1, 1)
    with pytest.raises(AuthenticationFailed), world.db.session() as s:
        accounts.resolve_session(s, cookie)
    with world.db.session() as s:
        assert accounts.purge_expired_sessions(s) == 1
        assert s.scalar(select(WebSession)) is None


def test_sign_out_and_disabled_user(world):
    with world.db.session() as s:
        cookie, _ = accounts.sign_in(s, "tenant_analyst@a.test", world.password)
    with world.db.session() as s:
        actor, _ = accounts.resolve_session(s, cookie)
        accounts.sign_out(s, actor, cookie)
    with pytest.raises(AuthenticationFailed), world.db.session() as s:
        accounts.resolve_session(s, cookie)
    with world.db.session() as s:
        accounts.update_user(s, world.actors["a_admin"], world.actors["a_analyst"].id, disabled=True)
    with pytest.raises(AuthenticationFailed), world.db.session() as s:
        accounts.sign_in(s, "tenant_analyst@a.test", world.password)


def test_who_may_create_whom(world):
    with world.db.session() as s:
        with pytest.raises(PermissionDenied):
            accounts.create_user(s, world.actors["a_analyst"], "x@a.test", world.password, "tenant_reader", world.a)
        with pytest.raises(NotFound):  # tenant B is invisible to tenant A's admin
            accounts.create_user(s, world.actors["a_admin"], "x@b.test", world.password, "tenant_admin", world.b)
        with pytest.raises(PermissionDenied):
            accounts.create_user(s, world.actors["a_admin"], "boss@a.test", world.password, "provider_admin")
        with pytest.raises(InvalidInput):
            accounts.create_user(s, world.actors["provider_admin"], "e@p.test", world.password, "expert", world.a)
        with pytest.raises(InvalidInput):
            accounts.create_user(s, world.actors["a_admin"], "short@a.test", "short", "tenant_reader", world.a)
        with pytest.raises(PermissionDenied):
            accounts.create_tenant(s, world.actors["expert"], "t3", "T3")
        with pytest.raises(PermissionDenied):
            accounts.create_token(s, world.actors["a_admin"], "expert")
        accounts.create_user(s, world.actors["a_admin"], "new@a.test", world.password, "tenant_reader", world.a)
        assert {u.email for u in accounts.list_users(s, world.actors["a_admin"])} >= {"new@a.test"}
        assert all(u.tenant_id == world.a for u in accounts.list_users(s, world.actors["a_admin"]))


def test_audit_log_records_who_what_when_where(world):
    actor = Actor(**{**world.actors["a_admin"].__dict__, "ip": "198.51.100.7"})
    with world.db.session() as s:
        accounts.create_token(s, actor, "sensor", world.a, name="sensor-1")
    with world.db.session() as s:
        entries = list_audit(s, world.actors["a_admin"], world.a)
        top = entries[0]
        assert (top.action, top.actor, top.ip, top.tenant_id) == (
            "token.create",
            "user:tenant_admin@a.test",
            "198.51.100.7",
            world.a,
        )
        assert top.at is not None and top.detail["role"] == "sensor"
        assert all(e.tenant_id == world.a for e in entries)
        with pytest.raises(PermissionDenied):
            list_audit(s, world.actors["a_reader"], world.a)
        with pytest.raises(NotFound):
            list_audit(s, world.actors["a_admin"], world.b)


def test_failed_sign_ins_from_one_address_are_throttled_across_accounts(world, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_FAILED_PER_ADDRESS", 3)
    for email in ("a@nowhere.test", "tenant_reader@a.test", "tenant_admin@b.test"):
        with pytest.raises(AuthenticationFailed), world.db.session() as s:
            accounts.sign_in(s, email, "spray-password-1", ip="203.0.113.66")
    with pytest.raises(AccountLocked), world.db.session() as s:  # even the right password, from that address
        accounts.sign_in(s, "tenant_analyst@a.test", world.password, ip="203.0.113.66")
    with world.db.session() as s:  # another address is not affected
        accounts.sign_in(s, "tenant_analyst@a.test", world.password, ip="198.51.100.1")
