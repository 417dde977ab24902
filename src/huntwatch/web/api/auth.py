"""Sign-in for browsers (session cookie + CSRF token) and who-am-I for every client."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from huntwatch.service import Actor, accounts
from huntwatch.service.accounts import SESSION_LIFETIME
from huntwatch.web.api.schemas import Me, SignIn
from huntwatch.web.context import SESSION_COOKIE, SessionDep, actor, client_ip

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/sign-in", response_model=Me)
def sign_in(body: SignIn, request: Request, response: Response, s: Session = SessionDep) -> Me:
    """Open a session; the CSRF token returned must be sent as ``X-CSRF-Token`` on every change."""
    cookie, ws = accounts.sign_in(s, body.email, body.password, client_ip(request))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    who, _ = accounts.resolve_session(s, cookie)
    return Me(kind=who.kind, name=who.name, role=who.role, tenant_id=who.tenant_id, csrf_token=ws.csrf_token)


@router.post("/sign-out", status_code=204)
def sign_out(request: Request, response: Response, who: Actor = Depends(actor), s: Session = SessionDep) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(s, who, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=Me)
def me(request: Request, who: Actor = Depends(actor), s: Session = SessionDep) -> Me:
    csrf = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if who.kind == "user" and cookie:
        csrf = accounts.resolve_session(s, cookie)[1].csrf_token
    return Me(kind=who.kind, name=who.name, role=who.role, tenant_id=who.tenant_id, csrf_token=csrf)
