"""Readers and normalisers: pure functions from bytes to hunting-schema rows; no storage here."""

from huntwatch.telemetry.events import RawEvent, ReadError, SourceError, parse_time
from huntwatch.telemetry.normalise import MAPPINGS, Mapping, mapping_for, normalise
from huntwatch.telemetry.readers import DEFAULT_LIMITS, Limits, discover, read_path, read_stream

__all__ = [
    "DEFAULT_LIMITS",
    "MAPPINGS",
    "Limits",
    "Mapping",
    "RawEvent",
    "ReadError",
    "SourceError",
    "discover",
    "mapping_for",
    "normalise",
    "parse_time",
    "read_path",
    "read_stream",
]
