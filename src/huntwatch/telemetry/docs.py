"""``docs/schema.md``, generated from the schema and the normaliser mappings so it never drifts."""

from __future__ import annotations

import collections

from huntwatch.schema import TABLES
from huntwatch.telemetry.normalise import MAPPINGS


def schema_markdown() -> str:
    sources: dict[str, list[str]] = collections.defaultdict(list)
    for (channel, event_id), mapping in sorted(MAPPINGS.items()):
        action = mapping.action_type if isinstance(mapping.action_type, str) else "(by event type)"
        sources[mapping.table].append(f"| {channel} | {event_id} | {action} |")
    out = [
        "# The hunting schema",
        "",
        "Generated from `huntwatch.schema` and `huntwatch.telemetry.normalise` by `huntwatch schema docs`; do not",
        "edit by hand. Names follow Microsoft Defender Advanced Hunting where a column exists there. Every query",
        "sees only the tenant's own rows. Timestamps are UTC. Text comparisons in DuckDB are case-sensitive:",
        "use `lower(...)` or `ILIKE` on paths and command lines (`FileName` and `DeviceName` are stored in lower",
        "case).",
        "",
    ]
    for table in TABLES:
        out += [f"## {table.name}", "", table.doc, "", "| column | type | description |", "|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {c.doc} |" for c in table.columns]
        if table.action_types:
            out += ["", "ActionType values: " + ", ".join(f"`{a}`" for a in table.action_types) + "."]
        if sources.get(table.name):
            out += ["", "Filled from:", "", "| channel | event id | ActionType |", "|---|---|---|"]
            out += sources[table.name]
        out.append("")
    out += [
        "Every event, whether or not a row above names it, also lands in `RawEvents` with all of its own fields",
        "in `Fields` (e.g. `Fields['CommandLine']`), which is what Sigma rules run on.",
        "",
    ]
    return "\n".join(out)
