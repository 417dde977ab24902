"""Beaconing: connections from one process to one destination at a near-constant interval.

Implants call home on a timer; people and most software do not. DuckDB computes inter-arrival times and
prefilters pairs with many connections; numpy then measures jitter robustly (median absolute deviation
over the median interval) on the few candidate pairs only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

from huntwatch.hunting.analytics.base import SYSMON, Analytic, Query, since_clause
from huntwatch.hunting.leads import LeadCandidate
from huntwatch.hunting.model import Requirement


class Beaconing(Analytic):
    id = "beaconing"
    title = "Periodic connections from one process to one destination (beacon)"
    description = (
        "A process connected to the same destination and port many times at a near-constant interval, "
        "the call-home pattern of C2 implants."
    )
    severity = "medium"
    confidence = 0.4
    tactics = ("Command and Control",)
    techniques = ("T1071", "T1573")
    table = "DeviceNetworkEvents"
    requires = (Requirement(SYSMON, (3,)), Requirement("Security", (5156,)))
    window_minutes = 24 * 60

    def __init__(self, *, min_connections: int = 8, max_jitter: float = 0.15, min_interval_s: float = 5.0) -> None:
        self.min_connections = min_connections
        self.max_jitter = max_jitter
        self.min_interval_s = min_interval_s

    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        clause, params = since_clause(since, "last_seen")
        rows = query(
            f"""
            WITH n AS (
                SELECT DeviceName, lower(InitiatingProcessFileName) AS process,
                       coalesce(RemoteIP, lower(RemoteUrl)) AS dest, RemotePort, Timestamp, EventKey
                FROM DeviceNetworkEvents
                WHERE ActionType IN ('ConnectionSuccess', 'ConnectionAllowed')
                  AND coalesce(RemoteIP, RemoteUrl) IS NOT NULL
                  AND coalesce(RemoteIP, '') NOT LIKE '127.%' AND coalesce(RemoteIP, '') NOT IN ('::1', '0.0.0.0', '::')
            ),
            c AS (
                SELECT *, epoch(Timestamp) - epoch(lag(Timestamp) OVER (
                           PARTITION BY DeviceName, process, dest, RemotePort ORDER BY Timestamp)) AS delta
                FROM n
            )
            SELECT DeviceName, process, dest, RemotePort, count(*) AS n,
                   min(Timestamp) AS first_seen, max(Timestamp) AS last_seen,
                   list(delta ORDER BY Timestamp) FILTER (WHERE delta IS NOT NULL) AS deltas,
                   list(EventKey ORDER BY Timestamp) AS keys
            FROM c
            GROUP BY DeviceName, process, dest, RemotePort
            HAVING count(*) >= ? AND avg(delta) >= ?{clause}
            """,
            [self.min_connections, self.min_interval_s, *params],
        )
        for device, process, dest, port, n, first, last, deltas, keys in rows:
            gaps = np.asarray(deltas, dtype=float)
            gaps = gaps[gaps >= 1.0]  # bursts within a second are one call-home, not two
            if len(gaps) < self.min_connections - 1:
                continue
            median = float(np.median(gaps))
            if median < self.min_interval_s:
                continue
            jitter = float(np.median(np.abs(gaps - median)) / median)
            if jitter > self.max_jitter:
                continue
            yield self.candidate(
                title=f"Beacon from {process} to {dest}:{port} every ~{median:.0f}s",
                first_seen=first,
                last_seen=last,
                evidence=keys,
                entities={"device": [device], "process": [process] if process else [], "remote_ip": [dest]},
                group=(device or "", process or "", str(dest), str(port)),
                details={"connections": n, "median_interval_s": round(median, 1), "jitter": round(jitter, 3)},
            )
