"""The hunting schema: the single source of truth for table and column names.

Names follow Microsoft Defender Advanced Hunting where a column exists there, so a hunter who knows
Advanced Hunting feels at home. Every other package takes table and column names from here.
"""

from huntwatch.schema.tables import (
    DEVICE_TABLES,
    RAW_TABLE,
    TABLES,
    Column,
    Table,
    arrow_schema,
    column_names,
    duckdb_empty_select,
    table,
)

__all__ = [
    "DEVICE_TABLES",
    "RAW_TABLE",
    "TABLES",
    "Column",
    "Table",
    "arrow_schema",
    "column_names",
    "duckdb_empty_select",
    "table",
]
