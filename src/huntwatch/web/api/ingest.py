"""Sensor ingest over HTTP: NDJSON of Windows events (gzip allowed), through the same normaliser as the CLI."""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from huntwatch.ingest import ingest_ndjson
from huntwatch.service import Actor, PermissionDenied
from huntwatch.state import Tenant
from huntwatch.web.context import AppContext, any_actor, context
from huntwatch.web.metrics import INGESTED

router = APIRouter(tags=["ingest"])


async def _body(request: Request, limit: int) -> bytes:
    """The request body, decompressed, refused once it exceeds ``limit`` bytes (either side of gzip)."""
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding not in ("identity", "gzip"):
        raise HTTPException(415, "Content-Encoding must be gzip or absent")
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    chunks: list[bytes] = []
    size = raw = 0
    async for chunk in request.stream():
        raw += len(chunk)
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, limit + 1 - size)
            except zlib.error as exc:
                raise HTTPException(400, f"bad gzip data: {exc}") from exc
            if inflate.unconsumed_tail:
                raise HTTPException(413, f"body larger than {limit} bytes once decompressed")
        size += len(chunk)
        if raw > limit or size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/ingest")
async def ingest(
    request: Request, source: str = "http", who: Actor = Depends(any_actor), ctx: AppContext = Depends(context)
) -> dict[str, Any]:
    """Append a sensor's NDJSON to its tenant's lake; bad lines are reported, good lines kept.

    Only a tenant's ``sensor`` token may call this, and it writes only to that tenant.
    """
    if who.role != "sensor" or who.tenant_id is None:
        raise PermissionDenied("ingest needs a tenant's sensor token")
    data = await _body(request, ctx.max_ingest_bytes)
    with ctx.db.session() as s:
        tenant = s.get(Tenant, who.tenant_id)
        assert tenant is not None
        slug = tenant.slug
    label = "".join(c if c.isalnum() or c in "._-" else "_" for c in source)[:80] or "http"
    report = await run_in_threadpool(ingest_ndjson, ctx.engine, slug, data, f"http/{who.name}/{label}")
    INGESTED.labels(tenant=slug).inc(report.events_written)
    return report.as_dict()
