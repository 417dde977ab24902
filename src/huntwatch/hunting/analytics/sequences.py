"""Rare command sequences per account: a first-order Markov model of which program follows which.

Transition counts come from the tenant's whole history (DuckDB window functions); a session of one
account on one device whose transitions the tenant has (almost) never seen scores a low likelihood —
the hands-on-keyboard pattern of an intruder running tools one after another.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

from huntwatch.hunting.analytics.base import SECURITY, SYSMON, Analytic, Query, since_clause
from huntwatch.hunting.leads import LeadCandidate
from huntwatch.hunting.model import Requirement


class RareCommandSequence(Analytic):
    id = "rare-command-sequence"
    title = "Unusual sequence of programs run by one account"
    description = (
        "Within one session of an account on a device, several consecutive programs followed each other in "
        "a way this tenant has (almost) never seen, scored by a Markov model of program transitions."
    )
    severity = "medium"
    confidence = 0.3
    tactics = ("Execution",)
    techniques = ("T1059",)
    table = "DeviceProcessEvents"
    requires = (Requirement(SYSMON, (1,)), Requirement(SECURITY, (4688,)))
    window_minutes = 30

    def __init__(self, *, min_events: int = 300, min_rare: int = 3, max_pair_count: int = 1) -> None:
        self.min_events = min_events
        self.min_rare = min_rare
        self.max_pair_count = max_pair_count

    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        clause, params = since_clause(since, "last_seen")
        total = query("SELECT count(*) FROM DeviceProcessEvents WHERE ActionType = 'ProcessCreated'", [])[0]
        if not total or total[0] < self.min_events:
            return  # too little history to know what is normal
        rows = query(
            f"""
            WITH p AS (
                SELECT DeviceName, lower(coalesce(AccountName, '')) AS account, lower(FileName) AS cur,
                       Timestamp, EventKey,
                       lag(lower(FileName)) OVER w AS prev, lag(Timestamp) OVER w AS prev_ts
                FROM DeviceProcessEvents
                WHERE ActionType = 'ProcessCreated' AND FileName IS NOT NULL
                WINDOW w AS (PARTITION BY DeviceName, lower(coalesce(AccountName, '')) ORDER BY Timestamp)
            ),
            s AS (
                SELECT *, sum(CASE WHEN prev_ts IS NULL OR Timestamp - prev_ts > INTERVAL {self.window_minutes} MINUTE
                                   THEN 1 ELSE 0 END)
                          OVER (PARTITION BY DeviceName, account ORDER BY Timestamp ROWS UNBOUNDED PRECEDING) AS sid,
                       CASE WHEN prev_ts IS NULL OR Timestamp - prev_ts > INTERVAL {self.window_minutes} MINUTE
                            THEN NULL ELSE prev END AS prev_in
                FROM p
            ),
            t AS (
                SELECT *, count(*) OVER (PARTITION BY prev_in, cur) AS pair_n,
                       count(*) OVER (PARTITION BY prev_in) AS prev_n,
                       (SELECT count(DISTINCT cur) FROM p) AS vocab
                FROM s WHERE prev_in IS NOT NULL
            )
            SELECT DeviceName, account, sid, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen,
                   list(EventKey ORDER BY Timestamp) FILTER (WHERE pair_n <= ?) AS keys,
                   list(prev_in || ' → ' || cur ORDER BY Timestamp) FILTER (WHERE pair_n <= ?) AS rare,
                   list(pair_n ORDER BY Timestamp) AS pair_ns, list(prev_n ORDER BY Timestamp) AS prev_ns,
                   any_value(vocab) AS vocab
            FROM t
            GROUP BY DeviceName, account, sid
            HAVING count(*) FILTER (WHERE pair_n <= ?) >= ?{clause}
            """,
            [self.max_pair_count, self.max_pair_count, self.max_pair_count, self.min_rare, *params],
        )
        for device, account, _sid, first, last, keys, rare, pair_ns, prev_ns, vocab in rows:
            # Mean log-likelihood of the session's transitions under add-one smoothing.
            loglik = sum(math.log((a + 1) / (b + vocab)) for a, b in zip(pair_ns, prev_ns, strict=True))
            yield self.candidate(
                title=f"Unusual program sequence by {account or 'unknown account'} on {device}",
                first_seen=first,
                last_seen=last,
                evidence=keys,
                entities={"device": [device], "account": [account] if account else []},
                group=(device or "", account, first.isoformat()),
                details={
                    "rare_transitions": rare[:20],
                    "transitions": len(pair_ns),
                    "mean_log_likelihood": round(loglik / max(1, len(pair_ns)), 3),
                },
            )
