"""Sign-in and sign-out pages; the session cookie is the API's, so both fronts share one sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from huntwatch.service import AuthenticationFailed, accounts
from huntwatch.service.accounts import SESSION_LIFETIME
from huntwatch.web.context import SESSION_COOKIE, SessionDep, client_ip
from huntwatch.web.pages.common import Viewer, form_viewer, render, viewer

router = APIRouter(include_in_schema=False)


def _landing(who: Viewer) -> str:
    if who.actor.is_provider_admin:
        return "/admin/enrollments"
    return "/console" if who.is_provider else "/alerts"


def _safe_next(target: str) -> str:
    """Only our own paths: an open redirect after sign-in would be a phishing aid."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


@router.get("/")
def home(who: Viewer = Depends(viewer)) -> Response:
    return RedirectResponse(_landing(who), status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "") -> Response:
    return render(request, "sign_in.html", None, next=_safe_next(next), error="", email="")


@router.post("/sign-in")
def sign_in(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    s: Session = SessionDep,
) -> Response:
    try:
        cookie, _ = accounts.sign_in(s, email, password, client_ip(request))
    except AuthenticationFailed as exc:
        return render(
            request, "sign_in.html", None, status_code=exc.status, next=_safe_next(next), error=str(exc), email=email
        )
    who, ws = accounts.resolve_session(s, cookie)
    response = RedirectResponse(_safe_next(next) or _landing(Viewer(who, ws.csrf_token)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, who: Viewer = Depends(form_viewer), s: Session = SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(s, who.actor, cookie)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
