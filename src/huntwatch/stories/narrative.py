"""Significance score, draft summary and reproducing queries: the words and numbers built from the scope.

The score is a transparent prior (0..100) whose components are stored beside it, so an expert can see why a
story ranks where it does; the AI ranking model later learns to do better and writes ``Story.score``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from huntwatch.stories.attack import stage
from huntwatch.stories.entities import principals
from huntwatch.stories.scope import LeadFacts, Scope
from huntwatch.stories.timeline import TimelineEvent

SEVERITY_POINTS = {"informational": 0, "low": 5, "medium": 10, "high": 15, "critical": 20}
RANK_THRESHOLD = 30.0
ROUTINE_POINTS = 30.0
ROUTINE_LOOKBACK = dt.timedelta(days=30)  # how far around a story other days of the same behaviour are sought

Firing = tuple[str, Mapping[str, Sequence[str]] | None, dt.datetime]  # a lead's hunt, entities and first seen


def firings(history: Iterable[Firing]) -> dict[tuple[str, str], list[dt.datetime]]:
    """(hunt, principal) → when that hunt fired about that account or device, in time order."""
    out: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
    for hunt, entities, first_seen in history:
        for who in principals(entities or {}):
            out[(hunt, who)].append(first_seen)
    for times in out.values():
        times.sort()
    return dict(out)


def routine_days(history: Iterable[Firing]) -> dict[tuple[str, str], int]:
    """(hunt, principal) → on how many distinct days that hunt fired about that account or device."""
    return {key: len({t.date() for t in times}) for key, times in firings(history).items()}


def routine_window(first: dt.datetime, last: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The span whose firings count as routine for findings between ``first`` and ``last``."""
    return first - ROUTINE_LOOKBACK, last + ROUTINE_LOOKBACK


def routine_share(leads: Iterable[Firing], days: Mapping[tuple[str, str], int]) -> float:
    """Share of the leads whose hunt fired about the same account (or device) on another day too: what
    someone does every day is their job; an intruder's steps are new."""
    flags = [any(days.get((hunt, who), 0) > 1 for who in principals(ents or {})) for hunt, ents, _ in leads]
    return sum(flags) / len(flags) if flags else 0.0


def significance(
    scope: Scope,
    leads: Sequence[LeadFacts],
    hunt_counts: Mapping[str, int],
    days: Mapping[tuple[str, str], int] | None = None,
) -> dict[str, Any]:
    """Score 0..100 = kill chain (30) + spread (20) + privilege (15) + rarity (15) + severity (20) − routine (30).

    ``hunt_counts`` is how many leads each hunt produced in the tenant: a hunt that fires rarely says more.
    ``days`` (from :func:`routine_days`) says which findings recur on other days for the same account or
    device; their share of the story takes up to ``ROUTINE_POINTS`` off.
    """
    stages = sorted({stage(t["tactic"]) for t in scope.tactics if t["tactic"] != "unknown"})
    breadth = min(len(stages), 5) / 5
    progression = (stages[-1] - stages[0]) / 12 if len(stages) > 1 else 0.0
    kill_chain = 20 * breadth + 10 * min(progression, 1.0)
    spread = min(20.0, 8 * max(len(scope.devices) - 1, 0) + 4 * min(len(scope.lateral_movement), 3))
    privs = {p for a in scope.accounts for p in a.privileges}
    privilege = 15.0 if "domain admin" in privs else 8.0 if "local admin" in privs else 0.0
    if "service account" in privs:
        privilege = min(15.0, privilege + 3)
    rare_hunts = [1 - min(1.0, math.log10(max(hunt_counts.get(lead.hunt_id, 1), 1)) / 3) for lead in leads]
    rare_files = [1.0 for f in scope.files if f.prevalence == 1]
    rarity = 10 * (max(rare_hunts) if rare_hunts else 0.0) + (5.0 if rare_files else 0.0)
    severity = float(max((SEVERITY_POINTS.get(lead.severity, 0) for lead in leads), default=0))
    routine = routine_share(((lead.hunt_id, lead.entities, lead.first_seen) for lead in leads), days or {})
    components = {
        "kill_chain": round(kill_chain, 2),
        "spread": round(spread, 2),
        "privilege": round(privilege, 2),
        "rarity": round(rarity, 2),
        "severity": round(severity, 2),
        "routine": round(-ROUTINE_POINTS * routine, 2),
    }
    total = round(min(100.0, max(0.0, sum(components.values()))), 2)
    return {"score": total, "components": components, "ranked": total >= RANK_THRESHOLD, "threshold": RANK_THRESHOLD}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def title(scope: Scope, leads: Sequence[LeadFacts]) -> str:
    """A short headline: the most advanced tactic, where, and the lead that names it."""
    names = [t["tactic"].replace("-", " ") for t in scope.tactics if t["tactic"] != "unknown"]
    worst = max(leads, key=lambda lead: (SEVERITY_POINTS.get(lead.severity, 0), -lead.id))
    where = scope.devices[0].name if len(scope.devices) == 1 else _plural(len(scope.devices), "device")
    stage_text = f"{names[-1]}" if names else "suspicious activity"
    return f"{stage_text.capitalize()} on {where}: {worst.title}"[:300]


def summary(scope: Scope, leads: Sequence[LeadFacts]) -> str:
    """A plain-words draft for the expert: who, what, where, when, spread, method of entry."""
    devices = [d.name for d in scope.devices]
    accounts = [a.name + (f" ({', '.join(a.privileges)})" if a.privileges else "") for a in scope.accounts]
    tactic_text = ", ".join(
        f"{t['tactic'].replace('-', ' ')} ({', '.join(x['name'] for x in t['techniques'][:3]) or 'no technique'})"
        for t in scope.tactics
        if t["tactic"] != "unknown"
    )
    hours = scope.dwell_seconds / 3600
    duration = f"{hours:.1f} hours" if hours >= 1 else f"{scope.dwell_seconds / 60:.0f} minutes"
    parts = [
        f"Between {scope.first_activity} and {scope.last_activity} UTC ({duration}), "
        f"{_plural(len(leads), 'finding')} point to one intrusion on {_plural(len(devices), 'device')} "
        f"({', '.join(devices)})."
    ]
    if scope.root:
        parts.append(
            f"The earliest activity is on {scope.root.device} at {scope.root.time}: {scope.root.description}"
            + (f" as {scope.root.account}" if scope.root.account else "")
            + f". Method of entry: {scope.root.method_of_entry}."
        )
    if tactic_text:
        parts.append(f"The attacker's activity covers {tactic_text}.")
    if accounts:
        parts.append(f"Accounts involved: {', '.join(accounts)}.")
    if scope.lateral_movement:
        moves = "; ".join(
            f"{m.source} → {m.target} as {m.account} by {m.method} at {m.time}" for m in scope.lateral_movement[:10]
        )
        parts.append(f"It spread: {moves}.")
    else:
        parts.append("No movement to other devices was seen.")
    rare = [f.sha256 or f.path for f in scope.files if f.prevalence <= 1]
    if rare:
        parts.append(f"Files seen on no other device of the organisation: {', '.join(rare[:5])}.")
    external = [a.address for a in scope.remote_addresses if not a.internal]
    if external:
        parts.append(f"Remote addresses and hosts involved: {', '.join(external[:10])}.")
    return " ".join(parts)


def _lit(value: str) -> str:
    """A SQL string literal; telemetry text is attacker-controlled, so quotes are doubled, never trusted."""
    return "'" + str(value).replace("'", "''") + "'"


def queries(scope: Scope, events: Sequence[TimelineEvent]) -> list[dict[str, str]]:
    """Hunting queries over the schema that reproduce the timeline, for the customer to run."""
    out: list[dict[str, str]] = []
    by_table: dict[str, list[str]] = {}
    for e in events:
        if e.key and e.table != "RawEvents":
            by_table.setdefault(e.table, []).append(e.event_key)
    if by_table:
        selects = [
            f"SELECT Timestamp, DeviceName, '{t}' AS SourceTable, ActionType, EventKey FROM {t} "
            f"WHERE EventKey IN ({', '.join(_lit(k) for k in sorted(keys))})"
            for t, keys in sorted(by_table.items())
        ]
        out.append({"title": "Key events of the story", "sql": "\nUNION ALL\n".join(selects) + "\nORDER BY Timestamp"})
    devices = ", ".join(_lit(d.name) for d in scope.devices)
    window = f"Timestamp BETWEEN TIMESTAMP {_lit(scope.first_activity)} AND TIMESTAMP {_lit(scope.last_activity)}"
    if devices:
        out.append(
            {
                "title": "Processes started on the affected devices during the story",
                "sql": "SELECT Timestamp, DeviceName, AccountName, InitiatingProcessFileName, FileName, "
                "ProcessCommandLine, ProcessUniqueId, InitiatingProcessUniqueId\nFROM DeviceProcessEvents\n"
                f"WHERE DeviceName IN ({devices}) AND ActionType = 'ProcessCreated' AND {window}\n"
                "ORDER BY DeviceName, Timestamp",
            }
        )
    if scope.accounts:
        names = ", ".join(_lit(a.name) for a in scope.accounts)
        out.append(
            {
                "title": "Logons of the story's accounts",
                "sql": "SELECT Timestamp, DeviceName, ActionType, LogonType, AccountDomain, AccountName, RemoteIP, "
                f"RemoteDeviceName\nFROM DeviceLogonEvents\nWHERE lower(AccountName) IN ({names}) AND {window}\n"
                "ORDER BY Timestamp",
            }
        )
    keys = ", ".join(_lit(m.event_key) for m in scope.lateral_movement if m.event_key)
    if keys:
        out.append(
            {
                "title": "Lateral movement",
                "sql": "SELECT Timestamp, DeviceName, ActionType, EventKey FROM DeviceLogonEvents "
                f"WHERE EventKey IN ({keys})\nUNION ALL\nSELECT Timestamp, DeviceName, ActionType, EventKey "
                f"FROM DeviceFileEvents WHERE EventKey IN ({keys})\nUNION ALL\nSELECT Timestamp, DeviceName, "
                f"ActionType, EventKey FROM DeviceEvents WHERE EventKey IN ({keys})\nORDER BY Timestamp",
            }
        )
    hashes = [f.sha256 for f in scope.files if f.sha256]
    if hashes:
        out.append(
            {
                "title": "Where the story's files were seen",
                "sql": "SELECT DeviceName, FolderPath, SHA256, min(Timestamp) AS FirstSeen, count(*) AS Events\n"
                f"FROM DeviceProcessEvents WHERE lower(SHA256) IN ({', '.join(_lit(h) for h in hashes)})\n"
                "GROUP BY ALL ORDER BY FirstSeen",
            }
        )
    return out
