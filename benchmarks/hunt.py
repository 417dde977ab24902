"""Benchmark: every hunt (and, with --sigma, a Sigma rule folder) over the dev corpus at 1×, 10×, 50×.

The corpus is ingested once into tenant ``x1``; tenant ``xN`` holds N copies of it, copy k re-appended
with timestamps shifted by k days and event keys suffixed, so data grows but stays realistic (copies land
in mostly the same day partitions, so the file count grows with batches, not with copies × days).
Each size is hunted in a fresh child process (peak RSS is that child's), from an empty state DB so every
batch is new. The raw ``evtx`` parse speed over the corpus's EVTX files is measured in the same run,
and the hunt speed is reported as a ratio of it.

    python benchmarks/hunt.py [--datasets ../shared/datasets] [--sigma ../shared/sigma] [--work DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from huntwatch.lake import DuckDBEngine

REPO = Path(__file__).resolve().parents[1]


def parse_speed(datasets: Path) -> tuple[int, float]:
    """Events and seconds to parse every EVTX file with pyevtx-rs (decompression not timed)."""
    import evtx

    blobs = [gzip.decompress(p.read_bytes()) for p in sorted(datasets.rglob("*.evtx.gz"))]
    events = 0
    started = time.perf_counter()
    for blob in blobs:
        for _ in evtx.PyEvtxParser(io.BytesIO(blob)).records_json():
            events += 1
    return events, time.perf_counter() - started


def build(work: Path, datasets: Path, sizes: list[int]) -> None:
    """Ingest the corpus into x1 (once) and build xN by appending shifted copies."""
    import duckdb

    from huntwatch.ingest import ingest_paths
    from huntwatch.lake import DuckDBEngine
    from huntwatch.schema import TABLES

    engine = DuckDBEngine(work / "lake")
    if engine.store.catalog("x1").last_seq == 0:
        t0 = time.perf_counter()
        report = ingest_paths(engine, "x1", [datasets], workers=2)
        print(f"ingested {report.events_written} events into x1 in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    con = duckdb.connect()
    for n in sizes:
        tenant = f"x{n}"
        done = work / f"{tenant}.built"
        if n == 1 or done.exists():
            continue
        t0 = time.perf_counter()
        for table in TABLES:
            files = engine.store.paths("x1", table.name)
            if not files:
                continue
            rows = sum(b.rows.get(table.name, 0) for b in engine.store.catalog("x1").batches)
            per_batch = max(1, min(n, 2_000_000 // max(1, rows)))  # few large batches: few Parquet files
            for start in range(0, n, per_batch):
                _append_copies(con, engine, tenant, table.name, files, range(start, min(n, start + per_batch)))
        done.touch()
        print(f"built {tenant} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def _append_copies(
    con: duckdb.DuckDBPyConnection, engine: DuckDBEngine, tenant: str, table: str, files: list[str], copies: range
) -> None:
    """Commit shifted copies of a table as one lake batch, written by DuckDB straight into the layout.

    The lake's own writer splits a batch by day in Python, which is slow for millions of rows spread over
    hundreds of days; the batch written here has the same layout and is committed through the catalog.
    """
    from huntwatch.lake import Batch

    listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    union = " UNION ALL ".join(
        f"""SELECT * REPLACE (Timestamp + INTERVAL {k} DAY AS Timestamp,
                              EventKey || '~{k}' AS EventKey, '{tenant}' AS TenantId),
                   coalesce(strftime(Timestamp + INTERVAL {k} DAY, '%Y-%m-%d'), 'unknown') AS day
            FROM read_parquet({listing}, hive_partitioning = false)"""
        for k in copies
    )
    base = engine.store.tenant_dir(tenant)
    base.mkdir(parents=True, exist_ok=True)
    with engine.store.writer(tenant) as writer:
        catalog = writer.catalog
        seq = catalog.last_seq + 1
        batch_id = f"b{seq:08d}-bench"
        tmp = base / f"_tmp_{batch_id}"
        con.execute(
            f"COPY ({union}) TO '{tmp}' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd, "
            f"ROW_GROUP_SIZE 131072, FILENAME_PATTERN '{batch_id}-{{i}}')"
        )
        rels = []
        for path in sorted(tmp.rglob("*.parquet")):
            rel = f"table={table}/{path.parent.name}/{path.name}"
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            path.rename(base / rel)
            rels.append(rel)
        for d in sorted(tmp.rglob("*"), reverse=True):
            d.rmdir()
        tmp.rmdir()
        n = con.sql(f"SELECT count(*) FROM read_parquet({listing}, hive_partitioning = false)").fetchall()[0][0]
        catalog.batches.append(Batch(seq, batch_id, time.time(), {table: rels}, {table: n * len(copies)}))
        writer._publish(catalog)


def hunt_one(work: Path, tenant: str, sigma_dir: str | None) -> dict:
    """Hunt one tenant from scratch (child process entry point)."""
    from huntwatch.hunting import load_hunts, run_hunts
    from huntwatch.lake import DuckDBEngine
    from huntwatch.state import Database

    engine = DuckDBEngine(work / "lake")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/state.db")
        db.create_all()
        hunts = load_hunts()
        sigma = None
        sigma_load = 0.0
        if sigma_dir:
            from huntwatch.hunting.runner import load_sigma

            t0 = time.perf_counter()
            sigma = load_sigma([sigma_dir])
            sigma_load = time.perf_counter() - t0
        events = engine.query('SELECT count(*) AS n FROM "RawEvents"', tenant).column("n")[0].as_py()
        report = run_hunts(engine, db, tenant, hunts=hunts, sigma=sigma, since=0, timeout_s=None)
    by_source: dict[str, float] = {}
    for o in report.outcomes:
        by_source[o.source] = by_source.get(o.source, 0.0) + o.seconds
    return {
        "tenant": tenant,
        "events": events,
        "hunts": len(hunts),
        "sigma_rules": len(sigma.rules) if sigma else 0,
        "sigma_load_s": round(sigma_load, 2),
        "seconds": round(report.seconds, 2),
        "materialize_s": round(report.materialize_seconds, 2),
        "seconds_by_source": {k: round(v, 2) for k, v in by_source.items()},
        "candidates": len(report.candidates),
        "slowest": [(o.id, round(o.seconds, 2)) for o in sorted(report.outcomes, key=lambda o: -o.seconds)[:8]],
        "errors": [f"{o.id}: {o.error}" for o in report.errors],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=str(REPO / ".." / "shared" / "datasets"))
    ap.add_argument("--sigma", default=None, help="Sigma rule folder to run as well")
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--work", default=None, help="Keep the lakes here and reuse them between runs")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(hunt_one(Path(args.work), args.child, args.sigma)))
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="huntwatch-bench-"))
    sizes = [int(s) for s in args.sizes.split(",")]
    build(work, Path(args.datasets), sizes)
    parsed, parse_s = parse_speed(Path(args.datasets))
    parse_eps = parsed / parse_s
    print(f"raw evtx parse: {parsed} events in {parse_s:.2f} s = {parse_eps:,.0f} events/s")
    print(
        f"{'size':>5} {'events':>11} {'seconds':>8} {'events/s':>10} {'s/M events':>10} {'vs parse':>8} {'peak MiB':>8}"
    )
    results = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--work", str(work), "--child", f"x{n}"]
        if args.sigma:
            cmd += ["--sigma", args.sigma]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        eps = r["events"] / r["seconds"] if r["seconds"] else 0.0
        r |= {
            "size": n,
            "events_per_s": round(eps),
            "s_per_million": round(1e6 * r["seconds"] / r["events"], 2),
            "ratio_to_parse": round(eps / parse_eps, 3),
        }
        results.append(r)
        print(
            f"{n:>4}× {r['events']:>11,} {r['seconds']:>8.2f} {eps:>10,.0f} {r['s_per_million']:>10.2f} "
            f"{r['ratio_to_parse']:>8.2f} {r['peak_rss_mib']:>8.0f}"
        )
        if r["errors"]:
            print(f"      errors: {r['errors'][:3]}")
    print(json.dumps({"parse_events_per_s": round(parse_eps), "runs": results}, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
