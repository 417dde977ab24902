"""What every page shares: the Jinja environment (autoescape everywhere), who is signed in, CSRF for forms.

Pages sign in with the same session cookie as the API; forms echo the session's CSRF token in a hidden
``csrf`` field (the API takes it as a header). A page request without a valid session is sent to sign-in.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.routing import NoMatchFound

from huntwatch.service import Actor, AuthenticationFailed, PermissionDenied, accounts
from huntwatch.state import Tenant, utcnow
from huntwatch.web.context import SESSION_COOKIE, SessionDep, client_ip

HERE = Path(__file__).resolve().parent.parent
SEVERITIES = ("informational", "low", "medium", "high", "critical")
# What a redirect after a successful form may say; a fixed list, so a link cannot put words in our mouth.
DONE = {
    "applied": "Application sent. The provider reviews it and you will see the decision here.",
    "toggled": "Endpoint Attack Notifications switched.",
    "delivery": "Delivery settings saved.",
    "deleted": "Removed.",
    "contact": "Contact added.",
    "sample": "Sample notification generated; it is in the alert queue and on its way to your channels.",
    "published": "Published: the notification is now in the tenant's alert queue.",
    "verdict": "Verdict recorded.",
    "decided": "Decision recorded.",
    "rechecked": "Eligibility checks ran again.",
    "subscription": "Subscription saved.",
    "user": "User created.",
    "status": "Alert status changed.",
}


def relative(value: Any, now: dt.datetime | None = None) -> str:
    """'5 min ago' for a naive-UTC time; people scan a queue by recency, not by timestamps."""
    if value is None or value == "":
        return "—"
    when = value if isinstance(value, dt.datetime) else _parse(value)
    if when is None:
        return str(value)
    when = when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone(dt.UTC).replace(tzinfo=None)
    seconds = ((now or utcnow()) - when).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        return "just now"
    return f"in {text}" if future else f"{text} ago"


def _parse(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def entity(item: Any) -> str:
    """A scope entry's name whether the scope holds plain strings or objects."""
    if isinstance(item, dict):
        return str(item.get("name") or item.get("sha256") or item.get("address") or "")
    return str(item)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # Story and alert JSON is schema-free; a missing key renders empty rather than failing the page.
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(relative=relative, iso=iso, entity=entity, urlquote=lambda v: quote(str(v), safe=""))
    env.globals.update(SEVERITIES=SEVERITIES, urlencode=urlencode)
    return env


templates = Jinja2Templates(env=_environment())


class SignInRequired(AuthenticationFailed):
    """A page was asked for without a session; the error handler sends the browser to sign-in."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and their session's CSRF token, as pages need them."""

    actor: Actor
    csrf: str

    @property
    def is_provider(self) -> bool:
        return self.actor.tenant_id is None

    @property
    def is_tenant_admin(self) -> bool:
        return self.actor.role == "tenant_admin" or self.actor.is_provider_admin


def viewer(request: Request, s: Session = SessionDep) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired("sign in")
    try:
        who, ws = accounts.resolve_session(s, cookie, client_ip(request))
    except AuthenticationFailed as exc:
        raise SignInRequired("sign in") from exc
    return Viewer(who, ws.csrf_token)


async def form_viewer(request: Request, who: Viewer = Depends(viewer)) -> Viewer:
    """A signed-in person posting a form that carries their session's CSRF token."""
    form = await request.form()
    sent = str(form.get("csrf") or "")
    if not hmac.compare_digest(sent, who.csrf):
        raise PermissionDenied("the form expired or did not come from this site; reload the page and try again")
    return who


def render(
    request: Request,
    name: str,
    who: Viewer | None,
    *,
    status_code: int = 200,
    tenant: Tenant | None = None,
    **values: Any,
) -> Response:
    # Provider staff choose the tenant in the URL; links on a tenant's pages carry the choice along.
    tq = urlencode({"tenant": tenant.slug}) if who and who.is_provider and tenant else ""
    # The cases pages belong to the experts-on-demand work; link them once that router is mounted.
    try:
        has_cases = bool(request.app.url_path_for("cases"))  # routers may be nested: ask by the route's name
    except NoMatchFound:
        has_cases = False
    values.update(request=request, who=who, tenant=tenant, now=utcnow(), tq=tq, has_cases=has_cases)
    values.setdefault("flash", DONE.get(request.query_params.get("done", ""), ""))
    return templates.TemplateResponse(request, name, values, status_code=status_code)
