"""Benchmark: the lab generator's speed, and a 1,000-device × 7-day lab generated and ingested.

Generation and ingestion each run in a fresh child process so each peak RSS is that step's own; the
parent prints events/s, bytes on disk and peak memory. The default size is the scale the lab promises.

    python benchmarks/lab.py [--devices 1000] [--days 7] [--gzip] [--no-ingest] [--workers 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

GENERATE = textwrap.dedent(
    """
    import json, resource, sys
    from huntwatch.lab import SCENARIOS, generate
    m = generate(sys.argv[1], devices=int(sys.argv[2]), days=int(sys.argv[3]), scenarios=list(SCENARIOS),
                 seed=1, compress=sys.argv[4] == "1")
    print(json.dumps({"events": m.events, "bytes": m.bytes, "files": len(m.files), "seconds": m.seconds,
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)
INGEST = textwrap.dedent(
    """
    import json, resource, sys
    from huntwatch.ingest import ingest_paths
    from huntwatch.lake import DuckDBEngine
    engine = DuckDBEngine(sys.argv[2])
    r = ingest_paths(engine, "lab", [sys.argv[1]], workers=int(sys.argv[3]))
    rows = engine.query("SELECT count(*) AS n FROM RawEvents", "lab").to_pylist()[0]["n"]
    print(json.dumps({"events": r.events_written, "errors": r.error_count, "seconds": r.seconds, "rows": rows,
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def _child(script: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="write .jsonl.gz")
    parser.add_argument("--no-ingest", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="ingest parser processes")
    parser.add_argument("--work", type=Path, help="keep the lab and lake here instead of a temp dir")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="hw-lab-bench-"))
    lab, lake = work / "lab", work / "lake"
    try:
        gen = _child(GENERATE, str(lab), str(args.devices), str(args.days), "1" if args.gzip else "0")
        print(
            f"generate {args.devices} devices × {args.days} days: {gen['events']:,.0f} events, {gen['files']:,.0f} "
            f"files, {gen['bytes'] / 1e9:.2f} GB, {gen['seconds']:.1f} s = {gen['events'] / gen['seconds']:,.0f} "
            f"events/s, peak RSS {gen['rss_mib']:.0f} MiB"
        )
        if not args.no_ingest:
            ing = _child(INGEST, str(lab / "telemetry"), str(lake), str(args.workers))
            print(
                f"ingest ({args.workers} worker(s)): {ing['events']:,.0f} events written ({ing['rows']:,.0f} raw rows, "
                f"{ing['errors']:,.0f} errors), {ing['seconds']:.1f} s = {ing['events'] / ing['seconds']:,.0f} "
                f"events/s, peak RSS {ing['rss_mib']:.0f} MiB"
            )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
