"""The JSON API, ``/api/v1``: one router per area, all mounted by :func:`huntwatch.web.app.create_app`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import text

from huntwatch import __version__
from huntwatch.web.api import alerts, auth, delivery, ingest, stories, tenants, users
from huntwatch.web.context import AppContext, context

PREFIX = "/api/v1"
api = APIRouter(prefix=PREFIX)


@api.get("/health", tags=["system"])
def health(ctx: AppContext = Depends(context)) -> dict[str, Any]:
    """Liveness and the state database's reachability; needs no credentials."""
    with ctx.db.engine.connect() as con:
        con.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


for module in (auth, tenants, users, alerts, stories, delivery, ingest):
    api.include_router(module.router)
