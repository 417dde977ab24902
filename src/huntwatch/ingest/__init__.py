"""The pipeline from files (or an HTTP body) to the lake: readers → normalisers → atomic batches."""

from huntwatch.ingest.pipeline import (
    FileResult,
    IngestReport,
    Progress,
    device_id,
    event_key,
    ingest_ndjson,
    ingest_paths,
)

__all__ = ["FileResult", "IngestReport", "Progress", "device_id", "event_key", "ingest_ndjson", "ingest_paths"]
