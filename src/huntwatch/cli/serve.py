"""``huntwatch serve``: the web API and portal plus the background worker."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    @group.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option(
        "--worker-interval",
        default=60.0,
        show_default=True,
        type=float,
        help="Seconds between worker cycles (hunt, correlate, rank, auto-publish, deliver); 0 turns it off.",
    )
    def serve(host: str, port: int, worker_interval: float) -> None:
        """Serve the API (/api/v1, OpenAPI at /api/v1/openapi.json), the portal and /metrics."""
        from huntwatch.web.server import serve as run

        run(host, port, worker_interval=worker_interval or None)
