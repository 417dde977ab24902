"""The portal in the browser: customer pages, the expert console and provider admin, server-rendered.

:func:`install` is called by :func:`huntwatch.web.app.create_app`: it mounts ``/static``, the page routers,
a strict Content-Security-Policy on every page (scripts and styles only from this origin, nothing inline), and
shows service refusals on pages as HTML (sign-in redirect for 401) while the API keeps its JSON errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from huntwatch.service import ServiceError
from huntwatch.web.api import PREFIX
from huntwatch.web.pages import admin, auth, cases, console, portal
from huntwatch.web.pages.common import HERE, SignInRequired, render

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(PREFIX)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, portal, console, admin, cases):
        app.include_router(module.router)
    api_handler = app.exception_handlers.get(ServiceError)

    async def service_error(request: Request, exc: Exception) -> Response:
        if _is_api(request) and api_handler is not None:
            return await api_handler(request, exc)
        assert isinstance(exc, ServiceError)
        if isinstance(exc, SignInRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
        return render(request, "error.html", None, status_code=exc.status, message=str(exc), status=exc.status)

    app.add_exception_handler(ServiceError, service_error)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if not _is_api(request):
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            if not request.url.path.startswith("/static/"):
                response.headers.setdefault("Cache-Control", "no-store")  # pages hold tenant data
        return response
