"""``huntwatch serve``: the API (and pages) under uvicorn, with the background worker beside it."""

from __future__ import annotations

import logging

import uvicorn

from huntwatch.config import Settings
from huntwatch.config import settings as default_settings
from huntwatch.service.worker import Worker
from huntwatch.web.app import create_app

log = logging.getLogger("huntwatch.server")


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    settings: Settings | None = None,
    worker_interval: float | None = 60.0,
    log_level: str = "info",
) -> None:
    """Run until interrupted; ``worker_interval=None`` serves without the worker (e.g. a second API node)."""
    settings = settings or default_settings()
    app = create_app(settings)
    ctx = app.state.ctx
    worker = Worker(ctx.db, ctx.engine, worker_interval) if worker_interval else None
    if worker is not None:
        ctx.worker = worker
        worker.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if worker is not None:
            worker.stop()
