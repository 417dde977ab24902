"""Prometheus metrics of the server: requests by route and status, latency, events ingested."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("huntwatch_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("huntwatch_http_request_seconds", "HTTP request latency", ["method", "route"])
INGESTED = Counter("huntwatch_ingested_events_total", "Events written to the lake over HTTP", ["tenant"])


def _route_template(request: Request) -> str:
    """The matched route's full template (``/api/v1/alerts/{alert_id}``), so ids do not explode the label set."""
    included = request.scope.get("fastapi", {}).get("effective_route_context")  # routes of included routers
    path = getattr(included, "path", None) or getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        path = _route_template(request)
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
