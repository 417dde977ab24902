"""Prometheus metrics of the server: requests by route and status, latency, events ingested, and the
service's state (alerts, deliveries, enrollments, worker cycles) read from the database at scrape time."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from huntwatch.state import Alert, DeliveryLog, Enrollment
from huntwatch.web.context import AppContext

REQUESTS = Counter("huntwatch_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("huntwatch_http_request_seconds", "HTTP request latency", ["method", "route"])
INGESTED = Counter("huntwatch_ingested_events_total", "Events written to the lake over HTTP", ["tenant"])


def _route_template(request: Request) -> str:
    """The matched route's full template (``/api/v1/alerts/{alert_id}``), so ids do not explode the label set."""
    included = request.scope.get("fastapi", {}).get("effective_route_context")  # routes of included routers
    path = getattr(included, "path", None) or getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


class StateCollector(Collector):
    """Low-cardinality counts from the state database (no per-tenant labels: a provider has thousands)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def collect(self):  # type: ignore[no-untyped-def]
        alerts = GaugeMetricFamily("huntwatch_alerts", "Alerts by status and severity", labels=["status", "severity"])
        deliveries = GaugeMetricFamily("huntwatch_deliveries", "Delivery log rows", labels=["channel", "status"])
        enrollments = GaugeMetricFamily("huntwatch_enrollments", "Enrollments by status", labels=["status"])
        with self.ctx.db.session() as s:
            for status, severity, n in s.execute(select(Alert.status, Alert.severity, func.count()).group_by(
                Alert.status, Alert.severity
            )):  # fmt: skip
                alerts.add_metric([status, severity], n)
            for channel, status, n in s.execute(
                select(DeliveryLog.channel, DeliveryLog.status, func.count()).group_by(
                    DeliveryLog.channel, DeliveryLog.status
                )
            ):
                deliveries.add_metric([channel, status], n)
            for status, n in s.execute(select(Enrollment.status, func.count()).group_by(Enrollment.status)):
                enrollments.add_metric([status], n)
        yield from (alerts, deliveries, enrollments)
        worker = self.ctx.worker
        if worker is not None:
            yield GaugeMetricFamily("huntwatch_worker_cycles", "Worker cycles completed", value=worker.cycles)
            last = worker.last
            yield GaugeMetricFamily(
                "huntwatch_worker_last_cycle_errors",
                "Failed steps in the last cycle",
                value=len(last.errors) if last else 0,
            )


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        path = _route_template(request)
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response

    state = CollectorRegistry()
    state.register(StateCollector(app.state.ctx))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY) + generate_latest(state), media_type=CONTENT_TYPE_LATEST)
