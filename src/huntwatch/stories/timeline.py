"""Timeline and process trees of a story, looked up in the lake by the leads' EventKeys.

Every typed table is read through one common projection (missing columns become NULL), so the timeline
is one ordered list whatever table an event came from; events only RawEvents holds are still listed.
Process trees link children to parents by Sysmon ProcessGuid and fall back to (device, pid, earlier start)
for Security 4688 events, which carry no GUID.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from huntwatch.schema import DEVICE_TABLES, column_names

_PROJECTION = (
    "Timestamp",
    "DeviceName",
    "ActionType",
    "EventKey",
    "AccountDomain",
    "AccountName",
    "FileName",
    "FolderPath",
    "SHA256",
    "ProcessId",
    "ProcessUniqueId",
    "ProcessCommandLine",
    "LogonId",
    "LogonType",
    "InitiatingProcessId",
    "InitiatingProcessUniqueId",
    "InitiatingProcessFileName",
    "InitiatingProcessCommandLine",
    "InitiatingProcessAccountName",
    "RemoteIP",
    "RemotePort",
    "RemoteUrl",
    "RemoteDeviceName",
    "RegistryKey",
    "RegistryValueName",
    "RegistryValueData",
    "ObjectName",
    "ShareName",
    "RequestSourceIP",
    "SourceChannel",
    "SourceEventId",
)
_CASTS = {"Timestamp": "TIMESTAMP", "ProcessId": "BIGINT", "InitiatingProcessId": "BIGINT"}
_CASTS.update({"RemotePort": "INTEGER", "SourceEventId": "INTEGER"})


@dataclass
class TimelineEvent:
    """One event of a story's timeline; ``key`` marks lead evidence, the rest is process-tree context."""

    time: dt.datetime
    device: str
    table: str
    action: str
    summary: str
    event_key: str
    key: bool
    account: str = ""
    lead_ids: list[int] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("row")
        d["time"] = self.time.isoformat()
        return d


def _select(table: str) -> str:
    present = set(column_names(table))
    cols = []
    for c in _PROJECTION:
        if c in present:
            cols.append(f'"{c}"')
        else:
            cols.append(f'CAST(NULL AS {_CASTS.get(c, "VARCHAR")}) AS "{c}"')
    return f'SELECT \'{table}\' AS "Table", {", ".join(cols)} FROM "{table}"'


def _rows(rel: duckdb.DuckDBPyRelation | None) -> list[dict[str, Any]]:
    if rel is None:
        return []
    return rel.to_arrow_table().to_pylist()


def _account(row: dict[str, Any]) -> str:
    name = row.get("AccountName") or row.get("InitiatingProcessAccountName") or ""
    dom = row.get("AccountDomain") or ""
    return f"{dom}\\{name}" if dom and name and row.get("AccountName") else name


def summarise(row: dict[str, Any]) -> str:
    """One readable line for an event, from whatever its table holds."""
    t, action = row.get("Table"), row.get("ActionType") or ""
    parent = row.get("InitiatingProcessFileName") or ""
    if t == "DeviceProcessEvents":
        cmd = row.get("ProcessCommandLine") or row.get("FolderPath") or row.get("FileName") or ""
        return f"{parent or '?'} started {row.get('FileName') or '?'}: {cmd}".strip()
    if t == "DeviceNetworkEvents":
        target = row.get("RemoteUrl") or ""
        addr = f"{row.get('RemoteIP') or ''}:{row.get('RemotePort') or ''}".strip(":")
        return f"{parent or 'process'} {action} {target} {addr}".strip()
    if t == "DeviceFileEvents":
        share = f" via {row['ShareName']} from {row.get('RequestSourceIP') or '?'}" if row.get("ShareName") else ""
        return f"{action} {row.get('FolderPath') or row.get('FileName') or ''}{share}".strip()
    if t == "DeviceRegistryEvents":
        value = f"\\{row['RegistryValueName']}" if row.get("RegistryValueName") else ""
        data = f" = {row['RegistryValueData']}" if row.get("RegistryValueData") else ""
        return f"{action} {row.get('RegistryKey') or ''}{value}{data}"
    if t == "DeviceLogonEvents":
        src = row.get("RemoteDeviceName") or row.get("RemoteIP") or ""
        kind = f" ({row['LogonType']})" if row.get("LogonType") else ""
        return f"{action}{kind} {_account(row)}" + (f" from {src}" if src else "")
    if t == "RawEvents":
        return f"{row.get('SourceChannel')} event {row.get('SourceEventId')}"
    what = row.get("ObjectName") or row.get("ProcessCommandLine") or row.get("FolderPath") or ""
    who = _account(row)
    return f"{action} {what}".strip() + (f" by {who}" if who else "")


def fetch_events(con: duckdb.DuckDBPyConnection, keys: dict[str, list[int]]) -> list[TimelineEvent]:
    """The events behind the given EventKeys (key → lead ids), ordered by time; one per key."""
    if not keys:
        return []
    con.register("story_keys", pa.table({"k": sorted(keys)}))
    union = " UNION ALL ".join(f"{_select(t.name)} WHERE EventKey IN (SELECT k FROM story_keys)" for t in DEVICE_TABLES)
    found = {}
    for row in _rows(con.sql(union)):
        found.setdefault(row["EventKey"], row)
    missing = sorted(set(keys) - set(found))
    if missing:
        con.register("missing_keys", pa.table({"k": missing}))
        raw = con.sql(
            """SELECT 'RawEvents' AS "Table", Timestamp, DeviceName, EventKey, Channel AS SourceChannel,
                      EventID AS SourceEventId, Fields['SubjectUserName'] AS InitiatingProcessAccountName
               FROM RawEvents WHERE EventKey IN (SELECT k FROM missing_keys)"""
        )
        for row in _rows(raw):
            found.setdefault(row["EventKey"], row)
    events = [
        TimelineEvent(
            time=row["Timestamp"],
            device=row.get("DeviceName") or "",
            table=row["Table"],
            action=row.get("ActionType") or f"{row.get('SourceChannel')}/{row.get('SourceEventId')}",
            summary=summarise(row),
            event_key=k,
            key=True,
            account=_account(row),
            lead_ids=sorted(keys[k]),
            row=row,
        )
        for k, row in found.items()
        if row.get("Timestamp") is not None
    ]
    events.sort(key=lambda e: (e.time, e.device, e.event_key))
    return events


# ------------------------------------------------------------------------------------------ process trees


@dataclass
class ProcNode:
    """A process on one device; ``seen`` is False for a parent known only from its child's fields."""

    id: str
    device: str
    pid: int | None
    name: str
    command_line: str
    account: str
    time: dt.datetime | None
    event_key: str
    unique_id: str
    parent: str | None = None
    seen: bool = True
    children: list[str] = field(default_factory=list)


class ProcessForest:
    """The process creations of some devices in a time range, linked child → parent."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.nodes: dict[str, ProcNode] = {}
        self.by_guid: dict[str, str] = {}
        self.by_pid: dict[tuple[str, int], list[str]] = defaultdict(list)
        for r in sorted(rows, key=lambda r: (r["Timestamp"], r["EventKey"])):
            guid = (r.get("ProcessUniqueId") or "").strip("{}").lower()
            nid = f"guid:{guid}" if guid else f"ev:{r['EventKey']}"
            if nid in self.nodes:
                continue
            node = ProcNode(
                id=nid,
                device=r["DeviceName"],
                pid=r.get("ProcessId"),
                name=r.get("FileName") or "",
                command_line=r.get("ProcessCommandLine") or "",
                account=_account(r),
                time=r["Timestamp"],
                event_key=r["EventKey"],
                unique_id=guid,
            )
            self.nodes[nid] = node
            if guid:
                self.by_guid[guid] = nid
            if node.pid is not None:
                self.by_pid[(node.device, node.pid)].append(nid)
        for r in rows:
            self._link(r)

    def _link(self, r: dict[str, Any]) -> None:
        guid = (r.get("ProcessUniqueId") or "").strip("{}").lower()
        child = self.nodes.get(f"guid:{guid}" if guid else f"ev:{r['EventKey']}")
        if child is None or child.parent is not None:
            return
        parent = self.parent_of(r)
        if parent is None:
            ppid = r.get("InitiatingProcessId")
            pguid = (r.get("InitiatingProcessUniqueId") or "").strip("{}").lower()
            stub_id = f"guid:{pguid}" if pguid else f"stub:{child.device}|{ppid}|{r['EventKey']}"
            parent = self.nodes.get(stub_id)
            if parent is None:
                parent = ProcNode(
                    id=stub_id,
                    device=child.device,
                    pid=ppid,
                    name=r.get("InitiatingProcessFileName") or "",
                    command_line=r.get("InitiatingProcessCommandLine") or "",
                    account=r.get("InitiatingProcessAccountName") or "",
                    time=None,
                    event_key="",
                    unique_id=pguid,
                    seen=False,
                )
                self.nodes[stub_id] = parent
                if pguid:
                    self.by_guid[pguid] = stub_id
        if parent.id == child.id:
            return
        child.parent = parent.id
        parent.children.append(child.id)

    def parent_of(self, r: dict[str, Any]) -> ProcNode | None:
        """The process that started (or initiated) the event: by GUID, else the latest earlier same pid."""
        pguid = (r.get("InitiatingProcessUniqueId") or "").strip("{}").lower()
        if pguid and pguid in self.by_guid:
            return self.nodes[self.by_guid[pguid]]
        ppid = r.get("InitiatingProcessId")
        if ppid is None or pguid:
            return None
        best = None
        for nid in self.by_pid.get((r["DeviceName"], ppid), ()):
            n = self.nodes[nid]
            if n.time is not None and n.time <= r["Timestamp"] and n.event_key != r["EventKey"]:
                best = n
        return best

    def node_for_event(self, r: dict[str, Any]) -> ProcNode | None:
        """The process an evidence event is about: the created process, else its initiating process."""
        if r.get("Table") == "DeviceProcessEvents" and r.get("ActionType") == "ProcessCreated":
            guid = (r.get("ProcessUniqueId") or "").strip("{}").lower()
            return self.nodes.get(f"guid:{guid}" if guid else f"ev:{r['EventKey']}")
        if r.get("InitiatingProcessUniqueId") or r.get("InitiatingProcessId") is not None:
            return self.parent_of(r)
        return None

    def ancestors(self, nid: str) -> list[ProcNode]:
        out, seen = [], {nid}
        cur = self.nodes[nid].parent
        while cur and cur not in seen:
            seen.add(cur)
            out.append(self.nodes[cur])
            cur = self.nodes[cur].parent
        return out

    def descendants(self, nid: str, limit: int = 200) -> list[ProcNode]:
        out: list[ProcNode] = []
        stack = list(reversed(self.nodes[nid].children))
        seen = {nid}
        while stack and len(out) < limit:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            out.append(self.nodes[cur])
            stack.extend(reversed(self.nodes[cur].children))
        return out

    def tree(self, root: str, keep: set[str], focus: set[str]) -> dict[str, Any]:
        """The subtree under ``root`` restricted to ``keep``, as nested dicts."""
        n = self.nodes[root]
        return {
            "process": n.name,
            "pid": n.pid,
            "unique_id": n.unique_id,
            "command_line": n.command_line,
            "account": n.account,
            "time": n.time.isoformat() if n.time else None,
            "event_key": n.event_key,
            "in_story": n.id in focus,
            "observed": n.seen,
            "children": [self.tree(c, keep, focus) for c in n.children if c in keep],
        }


def load_forest(
    con: duckdb.DuckDBPyConnection, devices: list[str], start: dt.datetime, end: dt.datetime
) -> ProcessForest:
    con.register("tree_devices", pa.table({"d": sorted(set(devices))}))
    rel = con.sql(
        f"""{_select("DeviceProcessEvents")}
            WHERE ActionType = 'ProcessCreated' AND DeviceName IN (SELECT d FROM tree_devices)
              AND Timestamp BETWEEN $start AND $end""",
        params={"start": start, "end": end},
    )
    return ProcessForest(_rows(rel))


def process_trees(
    forest: ProcessForest,
    events: list[TimelineEvent],
    extra_focus: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[dict[str, Any]], list[TimelineEvent], dict[str, str]]:
    """Per-device trees around the story's processes, the context events they add, and event→process ids.

    The story's processes are those of the evidence events (plus ``extra_focus`` node ids); each tree holds
    their ancestors up to the top and all their descendants.
    """
    focus: set[str] = set(extra_focus)
    event_proc: dict[str, str] = {}
    for e in events:
        node = forest.node_for_event(e.row)
        if node is not None:
            focus.add(node.id)
            event_proc[e.event_key] = node.id
    keep: set[str] = set()
    for nid in focus:
        keep.add(nid)
        keep.update(a.id for a in forest.ancestors(nid))
        keep.update(d.id for d in forest.descendants(nid))
    roots = sorted(
        {nid if not forest.nodes[nid].parent or forest.nodes[nid].parent not in keep else "" for nid in keep} - {""},
        key=lambda nid: (forest.nodes[nid].device, forest.nodes[nid].time or dt.datetime.min, nid),
    )
    trees_by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in roots:
        trees_by_device[forest.nodes[r].device].append(forest.tree(r, keep, focus))
    trees = [{"device": d, "roots": t} for d, t in sorted(trees_by_device.items())]
    evidence_keys = {e.event_key for e in events}
    context = [
        TimelineEvent(
            time=n.time,
            device=n.device,
            table="DeviceProcessEvents",
            action="ProcessCreated",
            summary=f"{forest.nodes[n.parent].name if n.parent else '?'} started {n.name}: {n.command_line}",
            event_key=n.event_key,
            key=False,
            account=n.account,
        )
        for n in (forest.nodes[k] for k in sorted(keep))
        if n.seen and n.time is not None and n.event_key not in evidence_keys
    ]
    return trees, context, event_proc
