"""Stories: correlation of leads into incidents, scope of compromise, timeline and process trees."""

from huntwatch.stories.correlation import (
    Bridge,
    CorrelationResult,
    LateralEdge,
    LeadNode,
    StoryGroup,
    correlate_leads,
)

__all__ = ["Bridge", "CorrelationResult", "LateralEdge", "LeadNode", "StoryGroup", "correlate_leads"]
