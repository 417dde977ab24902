from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from huntwatch.ai import ModelFallbackWarning, activate, list_versions, load_active, score_stories, train
from huntwatch.ai.registry import RegistryError
from huntwatch.state import Database, Story, StoryEvent, Verdict
from tests.ai.helpers import make_story, synthetic_examples


@pytest.fixture
def stories(db: Database) -> list[int]:
    return [
        make_story(db, "acme", significance=85, severity="critical", tactics=("Execution", "Impact"), n=4),
        make_story(db, "acme", significance=40, severity="medium", tactics=("Discovery",), n=2),
        make_story(db, "acme", significance=15, severity="low"),
    ]


def test_scores_and_explanations_are_written_with_the_active_model(db: Database, stories: list[int]) -> None:
    row, _ = train(db, lab=synthetic_examples(150))
    assert row.active and Path(row.path).exists() and row.metrics["examples"] == 150 and "cv_auroc" in row.metrics
    report = score_stories(db, "acme")
    assert report.model_version == row.version and not report.fallback
    with db.session() as s:
        for sid in stories:
            st = s.get_one(Story, sid)
            assert 0 <= st.score <= 1
            assert all("feature" in e and "effect" in e for e in st.score_explanation)
        events = s.scalars(select(StoryEvent).where(StoryEvent.action == "rescored")).all()
        assert {e.story_id for e in events} == set(stories)
        assert all(e.detail["model_version"] == row.version for e in events)


def test_missing_model_file_falls_back_to_the_prior_with_a_warning(db: Database, stories: list[int]) -> None:
    row, _ = train(db, lab=synthetic_examples(150), validate=False)
    Path(row.path).unlink()
    with pytest.warns(ModelFallbackWarning, match="missing"):
        report = score_stories(db, "acme")
    assert report.fallback and report.model_version is None
    with db.session() as s:
        st = s.get_one(Story, stories[0])
        assert st.score == 0.85
        assert st.score_explanation[0]["feature"].startswith("prior.")


def test_corrupted_model_file_is_refused_before_it_is_unpickled(db: Database, stories: list[int]) -> None:
    row, _ = train(db, lab=synthetic_examples(150), validate=False)
    data = bytearray(Path(row.path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(row.path).write_bytes(bytes(data))
    loaded = load_active(db)
    assert loaded.model is None and "SHA-256" in (loaded.warning or "")
    with pytest.warns(ModelFallbackWarning, match="cannot be loaded"):
        assert score_stories(db, "acme").fallback


def test_no_model_at_all_falls_back(db: Database, stories: list[int]) -> None:
    with pytest.warns(ModelFallbackWarning, match="no active ranking model"):
        report = score_stories(db, "acme")
    assert report.scores[stories[2]] == 0.15


def test_activate_an_older_version_rolls_back(db: Database) -> None:
    old, _ = train(db, lab=synthetic_examples(150, seed=1), validate=False)
    new, _ = train(db, lab=synthetic_examples(150, seed=2), validate=False)
    assert [v.version for v in list_versions(db) if v.active] == [new.version]
    activate(db, old.version)
    assert [v.version for v in list_versions(db) if v.active] == [old.version]
    assert load_active(db).version == old.version
    with pytest.raises(RegistryError):
        activate(db, "ranking-nope")


def test_a_verdict_changes_the_next_training(db: Database, stories: list[int]) -> None:
    lab = synthetic_examples(150)
    _, before = train(db, lab=lab, validate=False)
    _, again = train(db, lab=lab, validate=False)
    assert again.fingerprint() == before.fingerprint()  # same data, same model
    with db.session() as s:
        st = s.get_one(Story, stories[2])
        s.add(Verdict(story_id=st.id, tenant_id=st.tenant_id, verdict="confirmed_attack", actor="expert@provider"))
    row, after = train(db, lab=lab, validate=False)
    assert row.metrics["from_verdict"] == 1 and row.metrics["examples"] == 151
    assert after.fingerprint() != before.fingerprint()
