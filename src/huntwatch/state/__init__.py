"""App state: SQLAlchemy models and sessions."""

from huntwatch.state.base import Base, utcnow
from huntwatch.state.db import Database, make_engine
from huntwatch.state.models import (
    HuntWatermark,
    Lead,
    ModelVersion,
    Story,
    StoryEvent,
    StoryLead,
    Tenant,
    Verdict,
)

__all__ = [
    "Base",
    "Database",
    "HuntWatermark",
    "Lead",
    "ModelVersion",
    "Story",
    "StoryEvent",
    "StoryLead",
    "Tenant",
    "Verdict",
    "make_engine",
    "utcnow",
]
