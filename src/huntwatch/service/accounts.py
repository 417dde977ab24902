"""Tenants, users, sign-in with lockout, browser sessions and API tokens.

Passwords are argon2 hashes; session cookies and API tokens are random and stored only as SHA-256, so a
copy of the database does not let anyone in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from huntwatch.lake.store import LakeError, check_tenant
from huntwatch.service.access import Actor, require_provider, require_read, require_tenant_role, visible_tenant_ids
from huntwatch.service.audit import record
from huntwatch.service.errors import AccountLocked, AuthenticationFailed, Conflict, InvalidInput, NotFound
from huntwatch.state import (
    PROVIDER_ROLES,
    ROLES,
    TOKEN_ROLES,
    ApiToken,
    AuditLog,
    Tenant,
    TenantPolicy,
    User,
    WebSession,
    utcnow,
)

TOKEN_PREFIX = "hw_"
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MAX_FAILED_PER_ADDRESS = 20  # within LOCKOUT, across all accounts: slows password spraying

SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 10
_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- tenants ---------------------------------------------------------------------------------------------


def create_tenant(s: Session, actor: Actor, slug: str, name: str, region: str = "eu", plan: str = "standard") -> Tenant:
    require_provider(actor)
    try:
        check_tenant(slug)
    except LakeError as exc:
        raise InvalidInput(str(exc)) from exc
    if s.scalar(select(Tenant).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"tenant {slug!r} exists")
    tenant = Tenant(slug=slug, name=name or slug, region=region, plan=plan)
    s.add(tenant)
    s.flush()
    s.add(TenantPolicy(tenant_id=tenant.id))
    record(s, actor, "tenant.create", "tenant", tenant.id, tenant.id, slug=slug, region=region, plan=plan)
    return tenant


def list_tenants(s: Session, actor: Actor) -> list[Tenant]:
    q = select(Tenant).order_by(Tenant.slug)
    visible = visible_tenant_ids(s, actor)
    if visible is not None:
        q = q.where(Tenant.id.in_(visible))
    return list(s.scalars(q))


def get_tenant(s: Session, actor: Actor, tenant_id: int) -> Tenant:
    require_read(s, actor, tenant_id)
    tenant = s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant or object")
    return tenant


def tenant_by_slug(s: Session, actor: Actor, slug: str) -> Tenant:
    tenant = s.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return get_tenant(s, actor, tenant.id)


# --- users -----------------------------------------------------------------------------------------------


def _check_role_scope(role: str, tenant_id: int | None, roles: tuple[str, ...] = ROLES) -> None:
    if role not in roles:
        raise InvalidInput(f"role must be one of {', '.join(roles)}")
    if (role in PROVIDER_ROLES) != (tenant_id is None):
        raise InvalidInput("provider roles have no tenant; tenant roles need one")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password needs at least {MIN_PASSWORD} characters")


def create_user(
    s: Session,
    actor: Actor,
    email: str,
    password: str,
    role: str,
    tenant_id: int | None = None,
    display_name: str = "",
) -> User:
    """Provider admins create anyone; a tenant admin creates staff of their own tenant only."""
    _check_role_scope(role, tenant_id)
    if tenant_id is None:
        require_provider(actor)
    else:
        require_tenant_role(s, actor, tenant_id, "tenant_admin")
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput("not an e-mail address")
    _check_password(password)
    if s.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict("a user with that e-mail exists")
    user = User(
        email=email,
        display_name=display_name or email.split("@")[0],
        role=role,
        tenant_id=tenant_id,
        password_hash=_hasher.hash(password),
    )
    s.add(user)
    s.flush()
    record(s, actor, "user.create", "user", user.id, tenant_id, email=email, role=role)
    return user


def list_users(s: Session, actor: Actor, tenant_id: int | None = None) -> list[User]:
    return _admin_listing(s, actor, select(User).order_by(User.email), User.tenant_id, tenant_id)


def _admin_listing(s: Session, actor: Actor, q: Any, tenant_column: Any, tenant_id: int | None) -> list[Any]:
    """Rows a tenant admin may list (their tenant, or the one asked for); a provider admin lists all."""
    if tenant_id is not None:
        require_tenant_role(s, actor, tenant_id, "tenant_admin")
        return list(s.scalars(q.where(tenant_column == tenant_id)))
    if actor.is_provider_admin:
        return list(s.scalars(q))
    if actor.tenant_id is None:
        return []
    require_tenant_role(s, actor, actor.tenant_id, "tenant_admin")
    return list(s.scalars(q.where(tenant_column == actor.tenant_id)))


def _user_for_admin(s: Session, actor: Actor, user_id: int) -> User:
    return _admin_owned(s, actor, User, user_id, "user")


def _admin_owned(s: Session, actor: Actor, model: Any, row_id: int, what: str) -> Any:
    """A row its tenant's admin may change; provider-level rows only a provider admin (others: not found)."""
    row = s.get(model, row_id)
    if row is None or (row.tenant_id is None and not actor.is_provider_admin):
        raise NotFound(f"no such {what}")
    if row.tenant_id is not None:
        require_tenant_role(s, actor, row.tenant_id, "tenant_admin")
    return row


def update_user(
    s: Session,
    actor: Actor,
    user_id: int,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> User:
    user = _user_for_admin(s, actor, user_id)
    changed: dict[str, object] = {}
    if role is not None and role != user.role:
        _check_role_scope(role, user.tenant_id)
        user.role = changed["role"] = role
    if disabled is not None and disabled != user.disabled:
        user.disabled = changed["disabled"] = disabled
        if disabled:
            for ws in s.scalars(select(WebSession).where(WebSession.user_id == user.id)):
                s.delete(ws)
    if password is not None:
        _check_password(password)
        user.password_hash = _hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        changed["password"] = "changed"
    record(s, actor, "user.update", "user", user.id, user.tenant_id, **changed)
    return user


def actor_for_user(user: User, ip: str = "") -> Actor:
    return Actor(kind="user", name=user.email, role=user.role, tenant_id=user.tenant_id, id=user.id, ip=ip)


# --- sign-in and sessions ----------------------------------------------------------------------------------


def sign_in(s: Session, email: str, password: str, ip: str = "") -> tuple[str, WebSession]:
    """Check the password and open a session; ``MAX_FAILED_LOGINS`` failures lock the account for ``LOCKOUT``.

    Returns the cookie value (shown once) and the session row holding its hash and CSRF token. Unknown
    users and wrong passwords fail alike; the hashing cost is paid either way so timing tells nothing.
    A failure commits the session before raising, so the failure count and its audit row survive.
    """
    now = utcnow()
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    anonymous = Actor(kind="user", name=email.strip().lower()[:254], role="", ip=ip)
    if ip and _recent_failures_from(s, ip, now) >= MAX_FAILED_PER_ADDRESS:
        record(
            s, anonymous, "auth.sign_in_throttled", "user", user.id if user else "", user.tenant_id if user else None
        )
        s.commit()
        raise AccountLocked("too many failed sign-ins from this address; try again later")
    if user is None:
        _hasher.hash(password)
        record(s, anonymous, "auth.sign_in_failed", "user", "", None, reason="unknown user")
        s.commit()
        raise AuthenticationFailed("wrong e-mail or password")
    if user.locked_until is not None and user.locked_until > now:
        record(s, anonymous, "auth.sign_in_locked", "user", user.id, user.tenant_id)
        s.commit()
        raise AccountLocked("too many failed sign-ins; try again later")
    try:
        _hasher.verify(user.password_hash, password)
        ok = not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        user.failed_logins += 1
        detail: dict[str, object] = {"failures": user.failed_logins}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            detail["locked_until"] = user.locked_until.isoformat()
        record(s, anonymous, "auth.sign_in_failed", "user", user.id, user.tenant_id, **detail)
        s.commit()
        raise AuthenticationFailed("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    cookie = secrets.token_urlsafe(32)
    session = WebSession(
        user_id=user.id,
        token_hash=sha256(cookie),
        csrf_token=secrets.token_urlsafe(24),
        ip=ip,
        expires_at=now + SESSION_LIFETIME,
    )
    s.add(session)
    record(s, actor_for_user(user, ip), "auth.sign_in", "user", user.id, user.tenant_id)
    return cookie, session


def _recent_failures_from(s: Session, ip: str, now: dt.datetime) -> int:
    q = select(func.count()).where(
        AuditLog.action == "auth.sign_in_failed", AuditLog.ip == ip, AuditLog.at > now - LOCKOUT
    )
    return s.scalar(q) or 0


def resolve_session(s: Session, cookie: str, ip: str = "") -> tuple[Actor, WebSession]:
    session = s.scalar(select(WebSession).where(WebSession.token_hash == sha256(cookie)))
    if session is None or session.expires_at <= utcnow():
        raise AuthenticationFailed("not signed in")
    user = s.get(User, session.user_id)
    if user is None or user.disabled:
        raise AuthenticationFailed("not signed in")
    return actor_for_user(user, ip), session


def purge_expired_sessions(s: Session) -> int:
    """Delete sessions past their expiry (the worker calls this each cycle)."""
    return s.execute(delete(WebSession).where(WebSession.expires_at <= utcnow())).rowcount or 0


def sign_out(s: Session, actor: Actor, cookie: str) -> None:
    session = s.scalar(select(WebSession).where(WebSession.token_hash == sha256(cookie)))
    if session is not None:
        s.delete(session)
        record(s, actor, "auth.sign_out", "user", session.user_id, actor.tenant_id)


# --- API tokens --------------------------------------------------------------------------------------------


def create_token(
    s: Session,
    actor: Actor,
    role: str,
    tenant_id: int | None = None,
    name: str = "",
    expires_at: dt.datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token; the plain value is returned once and never stored."""
    if role == "sensor":
        if tenant_id is None:
            raise InvalidInput("a sensor token belongs to a tenant")
    else:
        _check_role_scope(role, tenant_id, TOKEN_ROLES)
    if tenant_id is None:
        require_provider(actor)
    else:
        require_tenant_role(s, actor, tenant_id, "tenant_admin")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        tenant_id=tenant_id,
        name=name,
        role=role,
        token_hash=sha256(plain),
        prefix=plain[:10],
        created_by=actor.label,
        expires_at=expires_at,
    )
    s.add(token)
    s.flush()
    record(s, actor, "token.create", "token", token.id, tenant_id, role=role, name=name)
    return plain, token


def list_tokens(s: Session, actor: Actor, tenant_id: int | None = None) -> list[ApiToken]:
    return _admin_listing(s, actor, select(ApiToken).order_by(ApiToken.id), ApiToken.tenant_id, tenant_id)


def revoke_token(s: Session, actor: Actor, token_id: int) -> ApiToken:
    token = _admin_owned(s, actor, ApiToken, token_id, "token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(s, actor, "token.revoke", "token", token.id, token.tenant_id)
    return token


def resolve_token(s: Session, plain: str, ip: str = "") -> Actor:
    if not plain.startswith(TOKEN_PREFIX):
        raise AuthenticationFailed("invalid token")
    token = s.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(plain)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        raise AuthenticationFailed("invalid token")
    # Touch at most once a minute so busy sensors do not turn every request into a write.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return Actor(
        kind="token", name=token.name or token.prefix, role=token.role, tenant_id=token.tenant_id, id=token.id, ip=ip
    )
