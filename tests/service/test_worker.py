from __future__ import annotations

import datetime as dt
import time

from huntwatch.service import publishing
from huntwatch.service.testing import enroll, raw_events
from huntwatch.service.worker import Worker, default_steps, run_cycle


def test_cycle_runs_steps_per_tenant_survives_failures_and_auto_publishes(world):
    now = dt.datetime(2026, 11, 20)
    for slug in ("tenant-a", "tenant-b"):
        world.engine.append(slug, {"RawEvents": raw_events(slug, 1, ["Security"], now)})
    calls = []

    def hunt(db, engine, tenant):  # type: ignore[no-untyped-def]
        calls.append(("hunt", tenant, db is world.db, engine is world.engine))
        if tenant == "tenant-b":
            raise RuntimeError("boom")

    def correlate(db, engine, tenant):  # type: ignore[no-untyped-def]
        calls.append(("correlate", tenant, True, True))

    enroll(world, world.a)
    with world.db.session() as s:
        publishing.set_policy(s, world.actors["a_admin"], world.a, 0.5)
    report = run_cycle(world.db, world.engine, [("hunt", hunt), ("correlate", correlate)])
    assert calls == [
        ("hunt", "tenant-a", True, True),
        ("correlate", "tenant-a", True, True),
        ("hunt", "tenant-b", True, True),  # failed: tenant B's correlation waits for the next cycle
    ]
    assert report.steps == ["hunt:tenant-a", "correlate:tenant-a"]
    assert "boom" in report.errors["hunt:tenant-b"]
    assert len(report.published) == 1  # the 0.92 story; the 0.1 one stays with the experts
    assert run_cycle(world.db, world.engine, []).published == []


def test_default_pipeline_is_hunt_correlate_rank():
    assert [name for name, _ in default_steps()] == ["hunt", "correlate", "rank"]


def test_real_pipeline_over_a_tenant_without_leads(world):
    world.engine.append("tenant-a", {"RawEvents": raw_events("tenant-a", 2, ["Security"], dt.datetime(2026, 11, 20))})
    report = run_cycle(world.db, world.engine)
    assert report.errors == {} and report.steps == ["hunt:tenant-a", "correlate:tenant-a", "rank:tenant-a"]


def test_worker_thread_starts_and_stops(world):
    worker = Worker(world.db, world.engine, interval_s=0.05)
    worker.start()
    deadline = time.monotonic() + 10
    while worker.cycles < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert worker.cycles >= 2 and worker.last is not None
