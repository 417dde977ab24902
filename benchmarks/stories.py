"""Correlation time of the in-memory core for 10k, 100k and 1M synthetic leads, and how it grows.

Run: ``python benchmarks/stories.py [SIZES...]``. Leads are spread over 30 days and a fleet that grows with
the number of leads (one device per 100 leads, one user per 200), with the noise real hunts produce:
SYSTEM and service accounts, well-known logon ids, pids, file hashes and remote addresses. A few lateral
edges per thousand leads are added. Generation is not timed; only ``correlate_leads`` is.
"""

from __future__ import annotations

import datetime as dt
import random
import resource
import sys
import time

from huntwatch.stories.correlation import LateralEdge, LeadNode, correlate_leads

T0 = dt.datetime(2026, 1, 1)


def synthetic(n: int, seed: int = 7) -> tuple[list[LeadNode], list[LateralEdge]]:
    rng = random.Random(seed)
    devices = max(20, n // 100)
    users = max(10, n // 200)
    span = 30 * 24 * 3600
    leads = []
    for i in range(n):
        t = T0 + dt.timedelta(seconds=rng.uniform(0, span))
        d = f"ws{rng.randrange(devices)}.corp.local"
        entities: dict[str, list[str]] = {
            "device": [d],
            "account": [rng.choice(("NT AUTHORITY\\SYSTEM", f"CORP\\user{rng.randrange(users)}"))],
            "logon": [rng.choice(("0x3e7", hex(rng.randrange(1 << 24))))],
            "process": [str(rng.randrange(1, 65536))],
        }
        if rng.random() < 0.2:
            entities["file"] = [f"{rng.randrange(n):064x}"]
        if rng.random() < 0.2:
            entities["remote_ip"] = [f"203.0.{rng.randrange(256)}.{rng.randrange(256)}"]
        leads.append(LeadNode(i + 1, t, t + dt.timedelta(seconds=rng.uniform(0, 600)), entities))
    edges = [
        LateralEdge(
            f"ws{rng.randrange(devices)}",
            f"ws{rng.randrange(devices)}",
            f"CORP\\user{rng.randrange(users)}",
            "network logon",
            T0 + dt.timedelta(seconds=rng.uniform(0, span)),
        )
        for _ in range(max(1, n // 300))
    ]
    return leads, edges


def main(sizes: list[int]) -> None:
    header = ("leads", 9), ("edges", 6), ("stories", 8), ("seconds", 8), ("per lead µs", 11), ("growth", 7)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'max RSS MB':>10}")
    previous = None
    for n in sizes:
        leads, edges = synthetic(n)
        started = time.perf_counter()
        result = correlate_leads(leads, edges, window=dt.timedelta(hours=4))
        seconds = time.perf_counter() - started
        growth = f"{seconds / previous[1]:.1f}x/{n / previous[0]:.0f}x" if previous else "-"
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{n:>9} {len(edges):>6} {len(result.groups):>8} {seconds:>8.2f} {seconds / n * 1e6:>11.1f} "
            f"{growth:>7} {rss:>10.0f}",
            flush=True,
        )
        previous = (n, seconds)
        del leads, edges, result


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
