"""What every request handler needs: the state database, the lake, the secret box; and who is asking.

Authentication is by ``Authorization: Bearer hw_...`` or by the ``hw_session`` cookie; with the cookie,
every state-changing request must echo the session's CSRF token in ``X-CSRF-Token``. Sensor tokens
authenticate only the ingest route.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from huntwatch.config import Settings
from huntwatch.lake import DuckDBEngine
from huntwatch.service import Actor, AuthenticationFailed, PermissionDenied, accounts
from huntwatch.service.secrets import SecretBox
from huntwatch.service.worker import Worker
from huntwatch.state import Database

SESSION_COOKIE = "hw_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class AppContext:
    settings: Settings
    db: Database
    engine: DuckDBEngine
    box: SecretBox
    max_ingest_bytes: int = 32 * 1024 * 1024
    worker: Worker | None = None  # set by ``huntwatch serve`` when it runs the worker


def context(request: Request) -> AppContext:
    return request.app.state.ctx


def session(ctx: AppContext = Depends(context)) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with ctx.db.session() as s:
        yield s


# Function scope: the transaction commits before the response is sent, so a client's next request sees it.
SessionDep: Session = Depends(session, scope="function")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _authenticate(request: Request, s: Session) -> Actor:
    ip = client_ip(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("use Authorization: Bearer TOKEN")
        return accounts.resolve_token(s, value.strip(), ip)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed("sign in or send a bearer token")
    actor, web_session = accounts.resolve_session(s, cookie, ip)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, web_session.csrf_token):
            raise PermissionDenied("missing or wrong CSRF token")
    return actor


def any_actor(request: Request, s: Session = SessionDep) -> Actor:
    """Anyone authenticated, sensors included (only the ingest route uses this)."""
    return _authenticate(request, s)


def actor(request: Request, s: Session = SessionDep) -> Actor:
    """A person or an integration token; sensor tokens may only ingest."""
    who = _authenticate(request, s)
    if who.role == "sensor":
        raise PermissionDenied("a sensor token may only ingest")
    return who
