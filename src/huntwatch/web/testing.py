"""The service test world behind a FastAPI app, for tests of the API and the pages."""

from __future__ import annotations

from types import SimpleNamespace

from huntwatch.config import Settings
from huntwatch.service import accounts
from huntwatch.service.testing import build_world
from huntwatch.state import Database
from huntwatch.web.app import create_app


def build_app_world(db: Database, settings: Settings, *, pages: bool = False) -> SimpleNamespace:
    """``build_world`` plus ``w.app`` and a bearer token per actor in ``w.tokens`` (and a sensor per tenant)."""
    w = build_world(db, settings.lake_path)
    w.app = create_app(settings, db=db, upgrade=False, pages=pages)
    w.tokens = {}
    provider = w.actors["provider_admin"]
    with db.session() as s:
        for name, who in w.actors.items():
            w.tokens[name] = accounts.create_token(s, provider, who.role, who.tenant_id, name)[0]
        w.tokens["a_sensor"] = accounts.create_token(s, provider, "sensor", w.a, "a_sensor")[0]
        w.tokens["b_sensor"] = accounts.create_token(s, provider, "sensor", w.b, "b_sensor")[0]
    return w
