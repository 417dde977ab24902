from __future__ import annotations

from huntwatch.service import publishing
from huntwatch.service.testing import enroll
from huntwatch.service.worker import Worker, pipeline_steps, run_cycle


def test_cycle_runs_steps_survives_failures_and_auto_publishes(world):
    calls = []

    def hunt(db, engine):  # type: ignore[no-untyped-def]
        calls.append(("hunt", db is world.db, engine is world.engine))

    def broken(db, engine):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    enroll(world, world.a)
    with world.db.session() as s:
        publishing.set_policy(s, world.actors["a_admin"], world.a, 0.5)
    report = run_cycle(world.db, world.engine, [("hunt", hunt), ("broken", broken)])
    assert calls == [("hunt", True, True)]
    assert report.steps == ["hunt"] and "boom" in report.errors["broken"]
    assert len(report.published) == 1  # the 0.92 story; the 0.1 one stays with the experts
    assert run_cycle(world.db, world.engine, []).published == []


def test_pipeline_steps_are_discovered_by_convention():
    assert [name for name, _ in pipeline_steps(("huntwatch.not_a_package", "huntwatch.schema"))] == []


def test_worker_thread_starts_and_stops(world):
    worker = Worker(world.db, world.engine, interval_s=0.05)
    worker.start()
    import time

    deadline = time.monotonic() + 10
    while worker.cycles < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert worker.cycles >= 2 and worker.last is not None
