"""Ingest speed and memory against the raw parse speed of the ``evtx`` package, in one run.

    python benchmarks/ingest.py [--scale N] [--workers W] [--datasets ../shared/datasets]

Ingests every EVTX and JSON recording of the dev corpus, replicated N times (copy i renames every device
to ``<name>-r<i>`` and shifts its times by i days, so the copies are new events), into a fresh lake, and
prints events, seconds, events/s, peak RSS, and the ratio to the raw parse speed of ``evtx`` over the same
EVTX files (records_json, no decoding), measured in the same run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import gzip
import io
import resource
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
import evtx
import orjson

from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine
from huntwatch.lake.export import lake_info
from huntwatch.telemetry import RawEvent

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Replica:
    """Copy ``index`` of the corpus: other device names, times shifted by ``index`` days."""

    index: int

    def __call__(self, event: RawEvent) -> RawEvent:
        event.computer = f"{event.computer}-r{self.index}"
        if event.time is not None:
            event.time += dt.timedelta(days=self.index)
        if event.identity is not None:
            event.identity += b"-r%d" % self.index
        return event


def raw_evtx_rate(files: list[Path], repeats: int = 10) -> tuple[int, float]:
    """Events and seconds of the evtx package's own parse (best of ``repeats``: the raw side is never
    slowed by a noisy moment of the machine, so the ratio errs against Huntwatch)."""
    blobs = [gzip.decompress(f.read_bytes()) for f in files]
    best = float("inf")
    count = 0
    for _ in range(repeats):
        started = time.perf_counter()
        count = 0
        for blob in blobs:
            for _ in evtx.PyEvtxParser(io.BytesIO(blob)).records_json():
                count += 1
        best = min(best, time.perf_counter() - started)
    return count, best


def raw_json_rate(files: list[Path]) -> tuple[int, float]:
    """Events and seconds to unpack the JSON recordings and decode each line with orjson, nothing more:
    what "raw parse" means for the files the evtx package cannot read (shown for reference)."""
    started = time.perf_counter()
    count = 0
    for path in files:
        for data in _json_members(path):
            for line in data.splitlines():
                if line.strip():
                    with contextlib.suppress(orjson.JSONDecodeError):
                        orjson.loads(line)
                        count += 1
    return count, time.perf_counter() - started


def duckdb_json_rate(files: list[Path]) -> tuple[int, float]:
    """Events and seconds for DuckDB's C++ JSON reader, on one thread, to decode the same lines into
    name -> text maps (the raw table's Fields): the compiled decoder at hand, timed without the unpacking."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, path in enumerate(files):
            for j, data in enumerate(_json_members(path)):
                paths.append(Path(tmp) / f"{i}-{j}.ndjson")
                paths[-1].write_bytes(data)
        con = duckdb.connect(config={"threads": 1})
        started = time.perf_counter()
        (count,) = con.execute(
            "SELECT count(cardinality(json_transform(json, '\"MAP(VARCHAR, VARCHAR)\"'))) "
            "FROM read_ndjson_objects(?, ignore_errors = true)",
            [[str(p) for p in paths]],
        ).fetchone()
        return count, time.perf_counter() - started


def _json_members(path: Path) -> list[bytes]:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return [archive.read(i) for i in archive.infolist() if i.filename.endswith(".json")]
    with tarfile.open(path) as archive:
        members = [m for m in archive if m.isfile() and m.name.endswith(".json")]
        return [archive.extractfile(m).read() for m in members]  # type: ignore[union-attr]


def peak_rss_mib() -> tuple[float, float]:
    """Peak RSS of this process and of the largest worker, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, children / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--datasets", type=Path, default=REPO / ".." / "shared" / "datasets")
    args = parser.parse_args()
    corpus = args.datasets.resolve()
    evtx_files = sorted(corpus.rglob("*.evtx.gz"))
    json_files = sorted(p for p in corpus.rglob("*") if p.name.endswith((".zip", ".tar.gz")))
    if not evtx_files:
        print(f"no recordings under {corpus}", file=sys.stderr)
        return 2

    raw_events, raw_seconds = raw_evtx_rate(evtx_files)
    raw_rate = raw_events / raw_seconds
    print(
        f"raw evtx parse (records_json, 1 process): {raw_events:,} events in {raw_seconds:.2f} s = "
        f"{raw_rate:,.0f} events/s (best of 10)"
    )
    json_events, json_seconds = raw_json_rate(json_files)
    json_rate = json_events / json_seconds
    print(
        f"raw JSON decode (unzip + orjson per line, 1 process, reference only): {json_events:,} events in "
        f"{json_seconds:.2f} s = {json_rate:,.0f} events/s"
    )
    duck_events, duck_seconds = duckdb_json_rate(json_files)
    print(
        f"raw JSON decode by DuckDB (read_ndjson_objects to name -> text maps, 1 thread, reference only): "
        f"{duck_events:,} events in {duck_seconds:.2f} s = {duck_events / duck_seconds:,.0f} events/s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        engine = DuckDBEngine(Path(tmp) / "lake")
        # EVTX only, same files as the raw parse.
        report = ingest_paths(engine, "evtx-only", evtx_files, workers=args.workers)
        evtx_rate = report.events_read / report.seconds
        print(
            f"huntwatch ingest, EVTX files: {report.events_read:,} events in {report.seconds:.2f} s = "
            f"{evtx_rate:,.0f} events/s, ratio to raw evtx parse {evtx_rate / raw_rate:.2f}, written as "
            f"{lake_info(engine.store.root, ['evtx-only'])[0].files} Parquet files"
        )
        total_events = 0
        total_seconds = 0.0
        stages: collections.Counter[str] = collections.Counter()
        for i in range(args.scale):
            rewrite = Replica(i) if i else None
            report = ingest_paths(engine, "corpus", evtx_files + json_files, workers=args.workers, rewrite=rewrite)
            total_events += report.events_read
            total_seconds += report.seconds
            stages.update(report.stages)
            print(
                f"  copy {i + 1}/{args.scale}: {report.events_read:,} events, {report.events_written:,} written, "
                f"{report.seconds:.1f} s, failed files {len(report.failed_files)}; worker s by stage: "
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(report.stages.items()))
            )
        rate = total_events / total_seconds if total_seconds else 0.0
        print(
            f"huntwatch ingest, whole corpus x{args.scale} ({args.workers} workers): {total_events:,} events in "
            f"{total_seconds:.1f} s = {rate:,.0f} events/s, ratio to raw evtx parse {rate / raw_rate:.2f}, "
            f"to raw JSON decode on one core {rate / json_rate:.2f}"
        )
    worker_seconds = sum(stages.values())
    shares = ", ".join(f"{name} {seconds:,.1f} s ({seconds / worker_seconds:.0%})" for name, seconds in stages.items())
    print(
        f"worker time by stage ({worker_seconds / total_events * 1e6:.1f} us per event): {shares} "
        "[read = unpack + decode + normalise]"
    )
    # What the 0.5 target allows per event, against the two steps no ingest can skip: decoding the JSON line
    # (the reference decode above) and writing the Parquet (the write stage of this run).
    budget = args.workers / (0.5 * raw_rate) * 1e6
    decode = 1e6 / json_rate
    write = stages["write"] / total_events * 1e6
    print(
        f"at ratio 0.5 each of the {args.workers} workers has {budget:.1f} us per event; decoding a JSON line "
        f"alone takes {decode:.1f} us and writing it {write:.1f} us, leaving {budget - decode - write:.1f} us for "
        f"everything else (field maps, normalising, keys, Arrow, dedupe), which take "
        f"{worker_seconds / total_events * 1e6 - decode - write:.1f} us in this run"
    )
    own, worker = peak_rss_mib()
    print(
        f"peak RSS: {own:,.0f} MiB in this process (it also holds the raw-parse sample), {worker:,.0f} MiB in "
        "the largest worker"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
