"""Analytics that are not plain SQL, behind one interface (``Analytic``) so a provider can add their own."""

from huntwatch.hunting.analytics.base import Analytic
from huntwatch.hunting.analytics.beaconing import Beaconing
from huntwatch.hunting.analytics.rarity import FirstSeenUserWritable, RareParentChild, RareProcessPath
from huntwatch.hunting.analytics.sequences import RareCommandSequence


def default_analytics() -> list[Analytic]:
    """The built-in analytics with their default thresholds."""
    return [RareParentChild(), RareProcessPath(), FirstSeenUserWritable(), Beaconing(), RareCommandSequence()]


__all__ = [
    "Analytic",
    "Beaconing",
    "FirstSeenUserWritable",
    "RareCommandSequence",
    "RareParentChild",
    "RareProcessPath",
    "default_analytics",
]
