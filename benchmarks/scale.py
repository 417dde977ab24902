"""Events per second of a full built-in hunt cycle on DuckDB and on Spark, at 1x, 10x and 50x the dev corpus.

The dev corpus is ingested once; each larger lake replicates it with shifted device names/ids, times and
event keys (so replicas are distinct devices, not duplicates), written one file per tenant/table/day
like ``huntwatch lake export``. Each engine then runs every built-in hunt's query once over the lake
("a hunt cycle"); events/s is events in the lake divided by the cycle's seconds. Spark's session start is
reported apart (a long-running service pays it once). The crossover is where the two lines of
seconds-versus-events (fitted through the measurements) meet.

    python benchmarks/scale.py [--factors 1,10,50] [--spark-master local[2]] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from huntwatch.hunting import load_hunts
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine, Engine, LakeStore
from huntwatch.lake.export import day_of
from huntwatch.lake.spark import SparkEngine
from huntwatch.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
TENANT = "bench"
MAX_ROWS_PER_BATCH = 2_000_000


def corpus_paths(datasets: Path) -> list[Path]:
    return [datasets / d for d in ("evtx-to-mitre-attack", "hayabusa-sample-evtx", "otrf-security-datasets",
                                   "sigmahq-regression-data")]  # fmt: skip


def replicate(base: Path, target: Path, factor: int) -> int:
    """Write ``factor`` shifted copies of the base lake's tenant into ``target``; returns events written."""
    src = LakeStore(base)
    catalog = src.catalog(TENANT)
    base_dir = src.tenant_dir(TENANT)
    con = duckdb.connect(":memory:")
    con.execute("SET threads=2")
    events = 0
    with LakeStore(target).writer(TENANT) as writer:
        for table in TABLES:
            by_day: dict[str, list[str]] = defaultdict(list)
            for rel in catalog.files(table.name):
                by_day[day_of(rel)].append(str(base_dir / rel))
            names = set(table.names)
            shifted = {
                "DeviceName": "DeviceName || '-r' || r",
                "EventKey": "EventKey || '-r' || r",
                "Timestamp": "Timestamp + to_minutes(r)",
            }
            if "DeviceId" in names:
                shifted["DeviceId"] = "DeviceId || '-r' || r"
            replace = ", ".join(f"{expr} AS {col}" for col, expr in shifted.items())
            for files in by_day.values():
                listing = ", ".join(f"'{f}'" for f in files)
                source = f"read_parquet([{listing}], hive_partitioning = false)"
                rows = con.sql(f"SELECT count(*) FROM {source}").fetchall()[0][0]
                step = max(1, MAX_ROWS_PER_BATCH // max(rows, 1))
                for lo in range(0, factor, step):
                    hi = min(factor, lo + step)
                    data = con.sql(
                        f"SELECT * EXCLUDE (r) REPLACE ({replace}) FROM {source}, range({lo}, {hi}) AS t(r)"
                    ).to_arrow_table()
                    writer.commit({table.name: data})
                    if table.name == "RawEvents":
                        events += data.num_rows
    con.close()
    return events


def hunt_cycle(engine: Engine) -> tuple[float, int]:
    """Seconds to run every built-in hunt's query once, and the result rows (a cross-engine sanity check)."""
    started = time.perf_counter()
    rows = 0
    for hunt in load_hunts():
        rows += engine.query(hunt.sql, TENANT, timeout_s=3600).num_rows
    return time.perf_counter() - started, rows


def crossover(points: dict[str, list[tuple[int, float]]]) -> str:
    """Where the fitted seconds = a + b * events lines of the two engines meet."""
    fits = {}
    for name, pts in points.items():
        if len(pts) < 2:
            return "need at least two factors to fit the crossover"
        n = len(pts)
        mx = sum(x for x, _ in pts) / n
        my = sum(y for _, y in pts) / n
        var = sum((x - mx) ** 2 for x, _ in pts)
        b = sum((x - mx) * (y - my) for x, y in pts) / var if var else 0.0
        fits[name] = (my - b * mx, b)
    (ad, bd), (as_, bs) = fits["duckdb"], fits["spark"]
    text = f"fit: duckdb {ad:.2f} s + {bd * 1e6:.3f} s/M events; spark {as_:.2f} s + {bs * 1e6:.3f} s/M events. "
    if bd <= bs:
        return text + "Spark's per-event cost is not lower on this machine: no crossover (add executors)."
    events = (as_ - ad) / (bd - bs)
    return text + f"crossover at about {events / 1e6:,.1f} M events per hunt cycle."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=REPO / ".." / "shared" / "datasets")
    parser.add_argument("--factors", default="1,10,50")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--work", type=Path, default=None, help="Directory for the lakes (default: a temp dir).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated lakes.")
    args = parser.parse_args()
    factors = [int(f) for f in args.factors.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="huntwatch-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        base = work / "base"
        if not LakeStore(base).catalog(TENANT).batches:
            t0 = time.perf_counter()
            report = ingest_paths(DuckDBEngine(base), TENANT, corpus_paths(args.datasets))
            print(f"ingested {report.events_written:,} events in {time.perf_counter() - t0:.1f} s", flush=True)
        lakes = {}
        for factor in factors:
            lake = work / f"x{factor}"
            if not LakeStore(lake).catalog(TENANT).batches:
                t0 = time.perf_counter()
                replicate(base, lake, factor)
                print(f"built {factor}x lake in {time.perf_counter() - t0:.1f} s", flush=True)
            events = sum(b.rows.get("RawEvents", 0) for b in LakeStore(lake).catalog(TENANT).batches)
            lakes[factor] = (lake, events)

        results: dict[int, dict[str, tuple[float, int]]] = defaultdict(dict)
        for factor, (lake, _) in lakes.items():
            results[factor]["duckdb"] = hunt_cycle(DuckDBEngine(lake))
        t0 = time.perf_counter()
        engines = {factor: SparkEngine(lake, master=args.spark_master) for factor, (lake, _) in lakes.items()}
        engines[factors[0]].spark  # noqa: B018  (start the shared session outside the timings)
        start_s = time.perf_counter() - t0
        try:
            for factor, spark in engines.items():
                for table in TABLES:  # warm: first-use views and file listings, outside the timing
                    spark.query(f'SELECT count(*) AS n FROM "{table.name}"', TENANT)
                results[factor]["spark"] = hunt_cycle(spark)
        finally:
            engines[factors[0]].close()  # one session serves every engine: stopping it once stops them all

        hunts = len(load_hunts())
        print(f"\n{hunts} built-in hunts per cycle; Spark master {args.spark_master}, session start {start_s:.1f} s")
        print(f"{'factor':>6} {'events':>12} {'duckdb s':>9} {'duckdb ev/s':>12} {'spark s':>9} {'spark ev/s':>12}")
        points: dict[str, list[tuple[int, float]]] = {"duckdb": [], "spark": []}
        for factor, (_, events) in lakes.items():
            (ds, drows), (ss, srows) = results[factor]["duckdb"], results[factor]["spark"]
            flag = "" if drows == srows else f"  (result rows differ: {drows} vs {srows})"
            print(f"{factor:>5}x {events:>12,} {ds:>9.2f} {events / ds:>12,.0f} {ss:>9.2f} {events / ss:>12,.0f}{flag}")
            points["duckdb"].append((events, ds))
            points["spark"].append((events, ss))
        print(crossover(points))
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
