"""Stacking and rarity: what a tenant almost never does is worth a look.

Counting happens in DuckDB over the tenant's whole history; only the rare groups come back to Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from huntwatch.hunting.analytics.base import SECURITY, SYSMON, Analytic, Query, since_clause
from huntwatch.hunting.leads import LeadCandidate
from huntwatch.hunting.model import Requirement

_PROCESS_SOURCES = (Requirement(SYSMON, (1,)), Requirement(SECURITY, (4688,)))
# Folders any user can write to: binaries started from here were not installed by an administrator.
USER_WRITABLE = (
    "\\users\\",
    "\\appdata\\",
    "\\temp\\",
    "\\programdata\\",
    "\\perflogs\\",
    "\\windows\\tasks\\",
    "\\$recycle.bin\\",
)


def _user_writable_sql(column: str) -> str:
    return "(" + " OR ".join(f"lower({column}) LIKE '%{frag}%'" for frag in USER_WRITABLE) + ")"


class RareParentChild(Analytic):
    """A parent that starts many processes in this tenant started a child it (almost) never starts."""

    id = "rare-parent-child"
    title = "Rare parent → child process pair for this tenant"
    description = (
        "A process that commonly starts children in this tenant started a child it has almost never "
        "started before; attackers' tools often hang off unusual parents (Office, web servers, services)."
    )
    severity = "low"
    confidence = 0.2
    tactics = ("Execution",)
    table = "DeviceProcessEvents"
    requires = _PROCESS_SOURCES

    def __init__(self, *, max_pair_count: int = 1, min_parent_count: int = 30) -> None:
        self.max_pair_count = max_pair_count
        self.min_parent_count = min_parent_count

    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        clause, params = since_clause(since, "Timestamp")
        rows = query(
            f"""
            WITH p AS (
                SELECT DeviceName, lower(InitiatingProcessFileName) AS parent, lower(FileName) AS child,
                       AccountName, Timestamp, EventKey
                FROM DeviceProcessEvents
                WHERE ActionType = 'ProcessCreated' AND InitiatingProcessFileName IS NOT NULL AND FileName IS NOT NULL
            ),
            pc AS (SELECT parent, count(*) AS parent_n FROM p GROUP BY parent),
            pair AS (SELECT parent, child, count(*) AS pair_n FROM p GROUP BY parent, child)
            SELECT p.DeviceName, p.parent, p.child, min(p.Timestamp) AS first_seen, max(p.Timestamp) AS last_seen,
                   list(p.EventKey) AS keys, list(DISTINCT p.AccountName) AS accounts,
                   any_value(pair_n) AS pair_n, any_value(parent_n) AS parent_n
            FROM p JOIN pair USING (parent, child) JOIN pc USING (parent)
            WHERE pair_n <= ? AND parent_n >= ?{clause}
            GROUP BY p.DeviceName, p.parent, p.child
            """,
            [self.max_pair_count, self.min_parent_count, *params],
        )
        for device, parent, child, first, last, keys, accounts, pair_n, parent_n in rows:
            yield self.candidate(
                title=f"Rare child {child} of {parent}",
                first_seen=first,
                last_seen=last,
                evidence=keys,
                entities={"device": [device], "process": [parent, child], "account": accounts},
                group=(device or "", parent, child),
                details={"pair_count": pair_n, "parent_children": parent_n},
            )


class RareProcessPath(Analytic):
    """Stacking across the fleet: an image path that runs on one device only, almost never."""

    id = "rare-process-path"
    title = "Executable path seen on a single device of the tenant"
    description = (
        "Stacks process image paths over every device of the tenant; a path outside Windows and Program "
        "Files that ran on a single device only a few times is often a dropped tool."
    )
    severity = "low"
    confidence = 0.2
    tactics = ("Execution",)
    techniques = ("T1204.002",)
    table = "DeviceProcessEvents"
    requires = _PROCESS_SOURCES

    def __init__(self, *, max_count: int = 2, min_devices: int = 3) -> None:
        self.max_count = max_count
        self.min_devices = min_devices

    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        devices = query("SELECT count(DISTINCT DeviceName) FROM DeviceProcessEvents", [])[0]
        if not devices or devices[0] < self.min_devices:
            return  # no fleet to stack against
        clause, params = since_clause(since, "last_seen")
        rows = query(
            f"""
            SELECT lower(FolderPath) AS path, any_value(DeviceName) AS device, count(*) AS n,
                   min(Timestamp) AS first_seen, max(Timestamp) AS last_seen, list(EventKey) AS keys,
                   list(DISTINCT AccountName) AS accounts, any_value(SHA256) AS sha256
            FROM DeviceProcessEvents
            WHERE ActionType = 'ProcessCreated' AND FolderPath IS NOT NULL
              AND lower(FolderPath) NOT LIKE '%:\\windows\\%' AND lower(FolderPath) NOT LIKE '%:\\program files%'
            GROUP BY lower(FolderPath)
            HAVING count(DISTINCT DeviceName) = 1 AND count(*) <= ?{clause}
            """,
            [self.max_count, *params],
        )
        for path, device, n, first, last, keys, accounts, sha in rows:
            yield _executable_lead(
                self,
                "Rare executable",
                path,
                device,
                first,
                last,
                keys,
                accounts,
                sha,
                {"path": path, "count": n, "tenant_devices": devices[0]},
            )


class FirstSeenUserWritable(Analytic):
    """An executable in a user-writable folder the tenant has never run before."""

    id = "first-seen-user-writable-exe"
    title = "First-seen executable started from a user-writable folder"
    description = (
        "An executable (by hash, or path when no hash is logged) ran for the first time in this tenant "
        "from a folder any user can write to (profile, Temp, ProgramData, Recycle Bin), on a single device."
    )
    severity = "low"
    confidence = 0.3
    tactics = ("Execution",)
    techniques = ("T1204.002",)
    table = "DeviceProcessEvents"
    requires = _PROCESS_SOURCES

    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        clause, params = since_clause(since, "first_seen")
        rows = query(
            f"""
            SELECT coalesce(lower(SHA256), lower(FolderPath)) AS ident, any_value(lower(FolderPath)) AS path,
                   any_value(DeviceName) AS device, count(*) AS n, min(Timestamp) AS first_seen,
                   max(Timestamp) AS last_seen, list(EventKey) AS keys, list(DISTINCT AccountName) AS accounts,
                   any_value(SHA256) AS sha256
            FROM DeviceProcessEvents
            WHERE ActionType = 'ProcessCreated' AND FolderPath IS NOT NULL AND {_user_writable_sql("FolderPath")}
              AND (lower(FolderPath) LIKE '%.exe' OR lower(FolderPath) LIKE '%.scr' OR lower(FolderPath) LIKE '%.com')
            GROUP BY ident
            HAVING count(DISTINCT DeviceName) = 1{clause}
            """,
            params,
        )
        for _ident, path, device, n, first, last, keys, accounts, sha in rows:
            yield _executable_lead(
                self,
                "First-seen executable",
                path,
                device,
                first,
                last,
                keys,
                accounts,
                sha,
                {"path": path, "count": n},
            )


def _executable_lead(
    analytic: Analytic,
    what: str,
    path: str,
    device: str | None,
    first: dt.datetime,
    last: dt.datetime,
    keys: list[str],
    accounts: list[str],
    sha: str | None,
    details: dict[str, object],
) -> LeadCandidate:
    """One executable on one device: the lead both executable analytics raise."""
    return analytic.candidate(
        title=f"{what} {path}",
        first_seen=first,
        last_seen=last,
        evidence=keys,
        entities={
            "device": [device] if device else [],
            "process": [path.rsplit("\\", 1)[-1]],
            "account": accounts,
            "file": [sha] if sha else [],
        },
        group=(device or "", path),
        details=details,
    )
