"""The FastAPI application: JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``) and metrics.

Portal pages live in ``huntwatch.web.pages``; when that package defines ``install(app: FastAPI) -> None``,
it is called last to add its routers, templates and static files beside the API.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from huntwatch import __version__
from huntwatch.config import Settings
from huntwatch.config import settings as default_settings
from huntwatch.lake import DuckDBEngine
from huntwatch.service.secrets import SecretBox
from huntwatch.state import Database
from huntwatch.web import errors, metrics
from huntwatch.web.api import PREFIX, api
from huntwatch.web.api import cases as cases_api
from huntwatch.web.context import AppContext


def create_app(
    settings: Settings | None = None, *, db: Database | None = None, upgrade: bool = True, pages: bool = True
) -> FastAPI:
    """An app over the state database and lake that ``settings`` name; migrates the database unless told not to.

    ``pages=False`` serves the API alone (API tests, API-only deployments).
    """
    settings = settings or default_settings()
    db = db or Database(settings.database_url)
    if upgrade:
        db.upgrade()
    app = FastAPI(
        title="Huntwatch",
        version=__version__,
        description="Managed threat hunting: endpoint attack notifications, enrollment, delivery, sensor ingest.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI would load third-party JavaScript from a CDN: offline sites get the JSON only
        redoc_url=None,
    )
    app.state.ctx = AppContext(
        settings=settings,
        db=db,
        engine=DuckDBEngine(settings.lake_path),
        box=SecretBox(settings.home / "secret.key"),
    )
    errors.install(app)
    metrics.install(app)
    app.include_router(api)
    app.include_router(cases_api.router, prefix=PREFIX)
    install_pages = getattr(_optional("huntwatch.web.pages"), "install", None) if pages else None
    if install_pages is not None:
        install_pages(app)
    return app


def _optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None
