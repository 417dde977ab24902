from __future__ import annotations

from huntwatch.ai import noise_budget
from huntwatch.state import Alert, Database, Story, Verdict
from tests.ai.helpers import make_story


def _score(db: Database, sid: int, score: float) -> None:
    with db.session() as s:
        s.get_one(Story, sid).score = score


def test_budget_queues_the_best_and_says_why_the_rest_wait(db: Database) -> None:
    ids = [make_story(db, "acme", significance=10 * i) for i in range(1, 7)]
    for sid, score in zip(ids, (0.1, 0.2, 0.3, 0.4, 0.95, 0.6), strict=True):
        _score(db, sid, score)
    with db.session() as s:
        st = s.get_one(Story, ids[3])
        s.add(Verdict(story_id=st.id, tenant_id=st.tenant_id, verdict="false_positive"))
        s.add(Alert(tenant_id=st.tenant_id, story_id=ids[0], title="published", severity="high"))
    # 100 devices for a one-day period (1/7 week): 3 per 100 per week → ceil(0.43) = 1 slot, already used by one alert
    report = noise_budget(db, "acme", devices=100, budget=3.0)
    assert report.allowed == 1 and report.published == 1
    assert report.published_rate_per_100_per_week == 7.0
    assert [r["story_id"] for r in report.queued] == [ids[4]]  # must-show despite the exhausted budget
    assert "must-show" in report.queued[0]["reason"]
    reasons = {r["story_id"]: r["reason"] for r in report.suppressed}
    assert reasons[ids[3]] == "expert verdict: false_positive"
    assert reasons[ids[5]].startswith("over budget")
    assert report.threshold == 0.95


def test_a_bigger_budget_lowers_the_threshold(db: Database) -> None:
    ids = [make_story(db, "acme", significance=10 * i) for i in range(1, 6)]
    for sid, score in zip(ids, (0.1, 0.2, 0.3, 0.4, 0.5), strict=True):
        _score(db, sid, score)
    small = noise_budget(db, "acme", devices=100, budget=14.0)  # 2 slots
    large = noise_budget(db, "acme", devices=100, budget=28.0)  # 4 slots
    assert len(small.queued) == 2 and small.threshold == 0.4
    assert len(large.queued) == 4 and large.threshold == 0.2


def test_scoring_applies_the_budget_to_the_queue(db: Database) -> None:
    import warnings

    from huntwatch.ai import ModelFallbackWarning, score_stories

    ids = [make_story(db, "acme", significance=s) for s in (90, 50, 20)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFallbackWarning)
        report = score_stories(db, "acme", budget=7.0)  # 1 device from the scopes → one slot per day
    assert report.queued == [ids[0]] and report.queue_threshold == 0.9
    assert set(report.suppressed) == {ids[1], ids[2]}
