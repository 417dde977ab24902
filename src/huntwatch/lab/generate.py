"""Run the lab: plan each day, let every device play its actions, write one NDJSON file per device-day.

Memory stays bounded by one device-day of events (plus the day's plan and the per-device state), so a
1,000-device week streams to disk like a 25-device demo. Output is byte-identical for the same inputs:
every random choice comes from a generator seeded by (seed, what, where, when), and gzip headers carry
no file name or time.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from huntwatch.lab.benign import LOOKALIKES, DayPlan, plan_benign_day
from huntwatch.lab.events import HOUR, MINUTE, PROVIDERS, DeviceDay, HostState, Pending, iso
from huntwatch.lab.org import Organisation, build_organisation
from huntwatch.lab.scenarios import ATTACK_SCENARIOS, SCENARIOS, LabWindow, ScenarioPlan

GROUND_TRUTH = "ground_truth.json"
TELEMETRY = "telemetry"  # the folder to ingest; ground truth sits beside it, never inside
DEFAULT_START = dt.date(2026, 11, 2)
LOOKALIKE_EVENT_CAP = 10  # events listed per look-alike activity and device; the total is always counted

Progress = Callable[[int, int], None]


@dataclass
class LabManifest:
    """What a lab run wrote: where, how much, and which scenarios with how many ground-truth events."""

    out_dir: str
    seed: int
    devices: int
    days: int
    start: str
    scenarios: list[str]
    domain: str
    files: list[str] = field(default_factory=list)
    events: int = 0
    bytes: int = 0
    events_by_channel: dict[str, int] = field(default_factory=dict)
    scenario_events: dict[str, int] = field(default_factory=dict)
    ground_truth: str = GROUND_TRUTH
    seconds: float = 0.0

    @property
    def paths(self) -> list[Path]:
        return [Path(self.out_dir) / f for f in self.files]

    @property
    def telemetry_dir(self) -> Path:
        """The folder holding every event file: what ``huntwatch ingest`` should be given."""
        return Path(self.out_dir) / TELEMETRY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Truth:
    """Collects the ids of tagged events as they are written; small by construction."""

    def __init__(self, plans: dict[str, ScenarioPlan]) -> None:
        self.plans = plans
        self.events: dict[str, list[dict[str, Any]]] = {k: [] for k in plans}
        self.lookalikes: dict[str, dict[str, Any]] = {}

    def add(
        self,
        key: str,
        technique: str,
        device: str,
        channel: str,
        event_id: int,
        record: int,
        ts: int,
        file: str,
        line: int,
    ) -> None:
        entry = {
            "device": device,
            "channel": channel,
            "event_id": event_id,
            "record_id": record,
            "timestamp": iso(ts),
            "technique": technique,
            "file": file,
            "line": line,
        }
        if key.startswith("lookalike:"):
            _, name, dev = key.split(":", 2)
            bucket = self.lookalikes.setdefault(
                key,
                {
                    "id": key,
                    "kind": "benign_lookalike",
                    "scenario": name,
                    "description": LOOKALIKES[name],
                    "devices": [dev],
                    "count": 0,
                    "first": entry["timestamp"],
                    "events": [],
                },
            )
            if device not in bucket["devices"]:
                bucket["devices"].append(device)
            bucket["count"] += 1
            bucket["last"] = entry["timestamp"]
            if len(bucket["events"]) < LOOKALIKE_EVENT_CAP:
                bucket["events"].append(entry)
            return
        self.events[key].append(entry)

    def document(self, manifest: LabManifest) -> dict[str, Any]:
        scenarios = []
        for key, plan in self.plans.items():
            spec = SCENARIOS[key]
            events = sorted(self.events[key], key=lambda e: (e["timestamp"], e["device"], e["record_id"]))
            scenarios.append(
                {
                    "id": key,
                    "scenario": spec.name,
                    "kind": spec.kind,
                    "title": spec.title,
                    "description": spec.description,
                    "tactics": list(spec.tactics),
                    "techniques": sorted({e["technique"] for e in events if e["technique"]}),
                    "devices": sorted({e["device"] for e in events}),
                    "accounts": plan.accounts,
                    "first": events[0]["timestamp"] if events else None,
                    "last": events[-1]["timestamp"] if events else None,
                    "event_count": len(events),
                    "events": events,
                }
            )
        return {
            "lab": {k: getattr(manifest, k) for k in ("seed", "devices", "days", "start", "scenarios", "domain")},
            "scenarios": scenarios,
            "benign_lookalikes": sorted(self.lookalikes.values(), key=lambda b: b["id"]),
        }


def _open(path: Path, compress: bool) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        return gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0, compresslevel=5)
    return path.open("wb")


def _write(
    events: list[Pending],
    host: HostState,
    out_dir: Path,
    rel: str,
    compress: bool,
    truth: _Truth,
    manifest: LabManifest,
) -> None:
    """Number the events per channel in time order and write them, the event's own fields after the
    envelope, as NXLog/OTRF does."""
    device = host.device
    counts = manifest.events_by_channel
    # The envelope is plain ASCII we control, so it is spliced in front of the body's own JSON object:
    # the same bytes orjson would write for the merged dict, without building one dict per event.
    envelopes = {
        channel: f'","Hostname":"{device.fqdn}","Channel":"{channel}","SourceName":"{source}",'
        + (f'"ProviderGuid":"{guid}",' if guid else "")
        for channel, (source, guid) in PROVIDERS.items()
    }
    with _open(out_dir / rel, compress) as fh:
        for line_no, ev in enumerate(events, start=1):
            record = host.next_record(ev.channel)
            head = (
                f'{{"@timestamp":"{iso(ev.ts)}{envelopes[ev.channel]}"EventID":{ev.event_id},"EventRecordID":{record},'
            )
            fh.write(head.encode() + orjson.dumps(ev.body)[1:] + b"\n")
            counts[ev.channel] = counts.get(ev.channel, 0) + 1
            if ev.tag is not None:
                truth.add(
                    ev.tag.key, ev.tag.technique, device.name, ev.channel, ev.event_id, record, ev.ts, rel, line_no
                )
    manifest.events += len(events)
    manifest.bytes += (out_dir / rel).stat().st_size
    manifest.files.append(rel)


def _plan_scenarios(
    org: Organisation, names: Iterable[str], start: int, days: int, weekdays: tuple[int, ...], seed: int
) -> dict[str, ScenarioPlan]:
    window = LabWindow(org, start, days, weekdays)
    wanted = set(names)
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    plans: dict[str, ScenarioPlan] = {}
    for name, scenario in SCENARIOS.items():  # registry order, so victims never depend on argument order
        if name in wanted:
            plans[name] = scenario.plan(window, random.Random(f"{seed}|scenario|{name}"))
    return plans


def generate(
    out_dir: str | Path,
    *,
    devices: int = 25,
    days: int = 2,
    scenarios: Iterable[str] | None = None,
    seed: int = 7,
    start: dt.date = DEFAULT_START,
    organisation: str = "corp",
    compress: bool = False,
    progress: Progress | None = None,
) -> LabManifest:
    """Generate a lab into ``out_dir``: ``telemetry/<day>/<device>.jsonl[.gz]`` and ``ground_truth.json``.

    ``scenarios`` defaults to every attack scenario (:data:`ATTACK_SCENARIOS`); add ``behaviour_change``
    for an anomaly-only change on one device. ``organisation`` names the AD domain (``corp`` →
    ``CORP``/``corp.example``), so labs for several customers do not look alike. Same arguments, same bytes.
    """
    if days < 1:
        raise ValueError("a lab needs at least one day")
    began = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(ATTACK_SCENARIOS if scenarios is None else scenarios)
    org = build_organisation(devices, seed, organisation)
    start_us = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()) * 1_000_000
    weekdays = tuple((start + dt.timedelta(days=d)).weekday() for d in range(days))
    plans = _plan_scenarios(org, names, start_us, days, weekdays, seed)
    manifest = LabManifest(
        str(out), seed, devices, days, start.isoformat(), [n for n in SCENARIOS if n in plans], org.domain.dns
    )
    truth = _Truth(plans)
    hosts = {d.name: HostState(d) for d in org.devices}
    carry: dict[str, list[Pending]] = {d.name: [] for d in org.devices}
    suffix = ".jsonl.gz" if compress else ".jsonl"
    total, done = devices * days, 0
    for day in range(days):
        day_start = start_us + day * 24 * HOUR
        day_end = day_start + 24 * HOUR
        steps = [(key, s) for key, p in plans.items() for s in p.steps if day_start <= s.ts < day_end]
        present = frozenset(s.device.name for _, s in steps if s.in_session)
        plan = DayPlan()
        plan_benign_day(plan, org, day, day_start, weekdays[day], seed, present)
        for key, step in steps:
            ts = step.ts
            if step.in_session and step.device.name in plan.sessions:
                logon, logoff = plan.sessions[step.device.name]
                ts = min(max(ts, logon + 10 * MINUTE), logoff - 30 * MINUTE)
            plan.add(step.device, ts, step.fn, *step.args, tag=key, technique=step.technique)
        day_text = iso(day_start)[:10]
        for dev in org.devices:
            ctx = DeviceDay(org, hosts[dev.name], random.Random(f"{seed}|{dev.name}|{day}"), day_start)
            for action in sorted(plan.actions.pop(dev.name, [])):
                action.run(ctx)
            pending = carry[dev.name] + ctx.events
            pending.sort()
            last = day == days - 1
            keep = pending if last else [e for e in pending if e.ts < day_end]
            carry[dev.name] = [] if last else [e for e in pending if e.ts >= day_end]
            _write(keep, hosts[dev.name], out, f"{TELEMETRY}/{day_text}/{dev.name}{suffix}", compress, truth, manifest)
            done += 1
            if progress is not None:
                progress(done, total)
    for key in plans:
        manifest.scenario_events[key] = len(truth.events[key])
    manifest.seconds = round(time.perf_counter() - began, 3)
    (out / GROUND_TRUTH).write_bytes(orjson.dumps(truth.document(manifest), option=orjson.OPT_INDENT_2))
    return manifest
