"""The event store: immutable Parquet batches committed through a per-tenant catalog, read with DuckDB."""

from huntwatch.lake.engine import DuckDBEngine, Engine, QueryError, run_with_timeout
from huntwatch.lake.store import Batch, Catalog, LakeError, LakeStore, check_tenant

__all__ = [
    "Batch",
    "Catalog",
    "DuckDBEngine",
    "Engine",
    "LakeError",
    "LakeStore",
    "QueryError",
    "check_tenant",
    "run_with_timeout",
]
