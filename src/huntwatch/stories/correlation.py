"""The in-memory correlation core: leads (and lateral-movement edges) → groups, with reasons.

Kept free of database and lake I/O so it can be tested and benchmarked on millions of synthetic leads.
Leads are joined by union-find over entity keys: for every key, leads are ordered by time and each one is
linked to the previous one when it starts within ``window`` of the end of the run so far (chaining). A
device alone is weak evidence, so on a device key only the same account chains over the window; other
accounts meet only through what the machine itself did ``near`` in time (see :func:`_key_links`). Lateral
edges only connect leads, and keys the tenant's telemetry shows on many devices join nothing.
Links are applied in time order, so the outcome never depends on input order. A component may hold at
most one existing story: a new lead that touches two open stories joins the earlier link's story and the
other contact is reported as a *bridge* (a merge suggestion) — automatic merges would undo expert splits.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from huntwatch.stories.entities import EntityKey, account_name, device_key, is_well_known_account, lead_keys

_EPOCH = dt.datetime(1970, 1, 1)
_ANYONE = frozenset({"*"})


def _seconds(t: dt.datetime) -> float:
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return (t - _EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class LeadNode:
    """What correlation needs of a lead; ``story_id`` is set for leads already in an open story.

    ``sources`` are devices of the tenant the lead's activity came from (its remote peer resolved to one of
    ours): the lead joins on them as on its own devices, so a spray sent from a compromised server meets
    what ran there at that moment.
    """

    id: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    entities: Mapping[str, Sequence[str]]
    story_id: int | None = None
    sources: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class LateralEdge:
    """A logon or remote execution from one device of the tenant to another."""

    src_device: str
    dst_device: str
    account: str
    method: str
    time: dt.datetime
    logon_id: str = ""
    remote_ip: str = ""
    event_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.src_device,
            "to": self.dst_device,
            "account": self.account,
            "method": self.method,
            "time": self.time.isoformat(),
            "logon_id": self.logon_id,
            "remote_ip": self.remote_ip,
            "event_key": self.event_key,
        }


@dataclass
class StoryGroup:
    """One correlated component that holds new leads: the story it extends (or None: a new story)."""

    story_id: int | None
    lead_ids: list[int]
    reasons: dict[int, dict[str, Any]]
    edges: list[LateralEdge]
    first_seen: dt.datetime
    last_seen: dt.datetime


@dataclass(frozen=True)
class Bridge:
    """A new lead or edge that shares an entity with a second open story; kept apart, reported."""

    lead_id: int | None
    joined_story_id: int | None
    other_story_id: int
    entity: str
    value: str


@dataclass
class CorrelationResult:
    groups: list[StoryGroup]
    bridges: list[Bridge]
    common: dict[str, int] = field(default_factory=dict)  # ignored key -> number of devices it spans
    edges_admitted: int = 0


@dataclass(slots=True)
class _Part:
    """A participant: a lead or an admitted lateral edge."""

    first: float
    last: float
    lead: LeadNode | None
    edge: LateralEdge | None
    keys: list[EntityKey]
    # Who acted on the device (account and logon keys), taken before common keys are dropped: an admin
    # account too common to join on is still a person, never the machine acting on its own.
    actors: frozenset[str] = frozenset()

    @property
    def order(self) -> tuple[float, int, int]:
        if self.lead is not None:
            return (self.first, 0, self.lead.id)
        return (self.first, 1, 0)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root


def common_keys(
    keyed: Iterable[tuple[Sequence[EntityKey], Sequence[EntityKey]]],
    *,
    fraction: float,
    min_devices: int,
    seen_on: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Keys that span more than ``max(min_devices, fraction × devices)`` devices: too common to join on.

    ``keyed`` yields (all keys, device keys) per participant. A device key spans the devices it appears
    with — a domain controller named in every workstation's Kerberos lead is common, a workstation is not.
    ``seen_on`` widens a key's span to the devices the telemetry shows it on.
    """
    spans: dict[str, set[str]] = defaultdict(set)
    devices: set[str] = set()
    for keys, dev_keys in keyed:
        names = [k.key for k in dev_keys]
        devices.update(names)
        if not names:
            continue
        for k in keys:
            spans[k.key].update(names)
    limit = max(min_devices, fraction * len(devices))
    seen = seen_on or {}
    widths = {k: max(len(v), seen.get(k, 0)) for k, v in spans.items()}
    return {k: n for k, n in widths.items() if n > limit}


def _edge_keys(edge: LateralEdge) -> list[EntityKey]:
    src, dst = device_key(edge.src_device), device_key(edge.dst_device)
    keys = [EntityKey("device", src, f"device:{src}"), EntityKey("device", dst, f"device:{dst}")]
    name = account_name(edge.account)
    if name and not is_well_known_account(name):
        keys.append(EntityKey("account", edge.account, f"account:{name}"))
    if edge.logon_id:
        keys.append(EntityKey("logon", edge.logon_id, f"logon:{dst}|{edge.logon_id.lower()}"))
    return keys


def correlate_leads(
    leads: Sequence[LeadNode],
    edges: Sequence[LateralEdge] = (),
    *,
    seen_on: Mapping[str, int] | None = None,
    window: dt.timedelta = dt.timedelta(hours=24),
    near: dt.timedelta = dt.timedelta(hours=1),
    common_fraction: float = 0.5,
    common_min_devices: int = 5,
) -> CorrelationResult:
    """Group leads into stories; only components holding at least one new lead are returned.

    ``window`` chains activity of the same entity; on a device, activity of different accounts (or of an
    account and the machine itself) only joins when it is ``near`` in time. ``seen_on`` gives, for keys the
    caller could look up, on how many devices the tenant's telemetry shows them, for the common-key test.

    The cyclic garbage collector is paused meanwhile: the millions of small objects built here hold no
    cycles, and collecting them repeatedly made the run grow faster than the number of leads.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _correlate(leads, edges, seen_on or {}, window, near, common_fraction, common_min_devices)
    finally:
        if enabled:
            gc.enable()


def _correlate(
    leads: Sequence[LeadNode],
    edges: Sequence[LateralEdge],
    seen_on: Mapping[str, int],
    window: dt.timedelta,
    near_by: dt.timedelta,
    common_fraction: float,
    common_min_devices: int,
) -> CorrelationResult:
    win = window.total_seconds()
    near = min(near_by, window).total_seconds()
    parts: list[_Part] = []
    for lead in leads:
        keys = lead_keys(lead.entities)
        known = {k.key for k in keys}
        for source in sorted({device_key(d) for d in lead.sources} - {""}):
            if f"device:{source}" not in known:
                keys.append(EntityKey("device", source, f"device:{source}"))
        parts.append(_Part(_seconds(lead.first_seen), _seconds(lead.last_seen), lead, None, keys, _actors(keys)))
    common = common_keys(
        ((p.keys, [k for k in p.keys if k.kind == "device"]) for p in parts),
        fraction=common_fraction,
        min_devices=common_min_devices,
        seen_on=seen_on,
    )
    for p in parts:
        ndev = sum(1 for k in p.keys if k.kind == "device")
        # A common device still joins leads that happened on it alone; only as a by-stander it is dropped.
        p.keys = [k for k in p.keys if k.key not in common or (k.kind == "device" and ndev == 1)]

    admitted = _admit_edges(parts, edges, common, win, near)
    parts.extend(admitted)
    parts.sort(key=lambda p: p.order)

    # Candidate links: per key, chain participants whose activity starts within the window of the run.
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(parts):
        for k in p.keys:
            by_key[k.key].append(i)
    links: list[tuple[float, str, int, int, float]] = []
    for key, members in by_key.items():
        if len(members) > 1:
            _key_links(parts, key, members, win, near, common, links)
    links.sort()

    uf = _UnionFind(len(parts))
    first_of_story: dict[int, int] = {}
    for i, p in enumerate(parts):
        sid = p.lead.story_id if p.lead else None
        if sid is None:
            continue
        if sid in first_of_story:
            uf.parent[uf.find(i)] = uf.find(first_of_story[sid])
        else:
            first_of_story[sid] = i
    story_of: dict[int, int | None] = {uf.find(i): sid for sid, i in first_of_story.items()}

    key_info = {k.key: k for p in parts for k in p.keys}
    tree: dict[int, list[tuple[int, str, float]]] = defaultdict(list)
    bridges: list[Bridge] = []
    seen_bridges: set[tuple[int | None, int]] = set()
    for _t, key, a, b, gap in links:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        sa, sb = story_of.get(ra), story_of.get(rb)
        if sa is not None and sb is not None and sa != sb:
            old_a, old_b = _is_old(parts[a]), _is_old(parts[b])
            if old_a and old_b:
                continue  # two old leads of different stories: an earlier decision, not news
            newcomer, other = (a, sb) if not old_a else (b, sa)
            joined = story_of[uf.find(newcomer)]
            lead = parts[newcomer].lead
            lead_id = lead.id if lead else None
            if (lead_id, other) not in seen_bridges:
                seen_bridges.add((lead_id, other))
                info = key_info[key]
                bridges.append(Bridge(lead_id, joined, other, info.kind, info.value))
            continue
        uf.parent[rb] = ra
        story_of[ra] = sa if sa is not None else sb
        tree[a].append((b, key, gap))
        tree[b].append((a, key, gap))

    components: dict[int, list[int]] = defaultdict(list)
    for i in range(len(parts)):
        components[uf.find(i)].append(i)

    groups: list[StoryGroup] = []
    for root, members in components.items():
        new = [i for i in members if parts[i].lead is not None and parts[i].lead.story_id is None]
        if not new:
            continue
        sid = story_of.get(root)
        old = [i for i in members if parts[i].lead is not None and parts[i].lead.story_id is not None]
        seeds = old or [min(new, key=lambda i: parts[i].order)]
        reasons = _explain(parts, tree, seeds, key_info)
        lead_members = [i for i in members if parts[i].lead is not None]
        groups.append(
            StoryGroup(
                story_id=sid,
                lead_ids=[parts[i].lead.id for i in new],  # type: ignore[union-attr]
                reasons={parts[i].lead.id: reasons[i] for i in new},  # type: ignore[union-attr]
                edges=[parts[i].edge for i in members if parts[i].edge is not None],  # type: ignore[misc]
                first_seen=min(parts[i].lead.first_seen for i in lead_members),  # type: ignore[union-attr]
                last_seen=max(parts[i].lead.last_seen for i in lead_members),  # type: ignore[union-attr]
            )
        )
    groups.sort(key=lambda g: (g.story_id is None, g.first_seen, min(g.lead_ids)))
    return CorrelationResult(groups, bridges, common, len(admitted))


def _key_links(
    parts: list[_Part],
    key: str,
    members: list[int],
    win: float,
    near: float,
    common: Mapping[str, int],
    links: list[tuple[float, str, int, int, float]],
) -> None:
    """Candidate links among the participants of one key (in time order).

    Leads chain when one starts within the window of the end of the run so far. A lateral edge is a logon,
    not a finding: it links the latest lead before it and the next lead after it, never another edge, so a
    user's routine logons cannot carry a chain from one day to the next on their own. On a device key, who
    acted matters too: the same account or logon session chains within the window; what the machine itself
    did (a lead naming no account but the device's own) joins whatever happened on it ``near`` in time, and
    so does a logon *out* of the device (an attacker often moves on with other credentials than the ones
    they ran as); otherwise two different accounts never meet through the device alone — a file server or
    terminal server everyone logs on to, or a domain controller's nightly jobs, would join them all. An
    account too common to join on (an admin everywhere) still acts as a person on the device, and its own
    activity there chains only ``near`` in time; so does a machine account (``HOST$``) on its own key.
    """
    device = key.startswith("device:")
    machine = key.startswith("account:") and key.endswith("$")

    def reach(who: str) -> float:
        """How far back a run of ``who`` on this key joins: near only for a common account or HOST$ (the
        machine itself, which like its device joins only what happened right then)."""
        return near if machine or who in common else win

    run_end: dict[str, float] = {}
    lead_of: dict[str, int] = {}  # identity -> latest lead acting as it
    edge_of: dict[str, int] = {}  # identity -> latest edge after that lead
    last_lead: int | None = None
    last_edge: int | None = None
    last_machine: int | None = None
    last_exit: int | None = None  # latest edge leaving this device
    for i in members:
        p = parts[i]
        who = p.actors if device else _ANYONE
        targets = {lead_of[w] for w in who if w in lead_of and p.first - run_end[w] <= reach(w)}
        if p.lead is not None:
            targets.update(edge_of[w] for w in who if w in edge_of and p.first - parts[edge_of[w]].last <= reach(w))
        if device:
            if p.lead is None:  # a logon out of this device meets whoever acted here; one into it, the machine
                nearby = (last_lead,) if _leaves(p, key) else (last_machine,)
            elif who:
                nearby = (last_machine, last_exit)
            else:
                last_machine = i
                nearby = (last_lead, last_edge)
            targets.update(t for t in nearby if t is not None and p.first - parts[t].last <= near)
        for t in sorted(targets):
            if not _same_story(parts[t], p):
                links.append((p.first, key, t, i, max(p.first - parts[t].last, 0.0)))
        if p.lead is None:
            edge_of.update(dict.fromkeys(who, i))
            last_edge = i
            if device and _leaves(p, key):
                last_exit = i
            continue
        for w in who:
            fresh = w not in run_end or p.first - run_end[w] > reach(w)
            run_end[w] = p.last if fresh else max(run_end[w], p.last)
            lead_of[w] = i
            edge_of.pop(w, None)
        last_lead = i


def _leaves(p: _Part, key: str) -> bool:
    """Whether ``p`` is a lateral edge whose source is the device of ``key``."""
    return p.edge is not None and key == f"device:{device_key(p.edge.src_device)}"


def _actors(keys: Iterable[EntityKey]) -> frozenset[str]:
    """Who acted on a device: its account and logon keys; none for the machine itself (its own ``HOST$``)."""
    return frozenset(k.key for k in keys if k.kind == "logon" or (k.kind == "account" and not k.key.endswith("$")))


def _is_old(p: _Part) -> bool:
    return p.lead is not None and p.lead.story_id is not None


def _same_story(a: _Part, b: _Part) -> bool:
    sa = a.lead.story_id if a.lead else None
    sb = b.lead.story_id if b.lead else None
    return sa is not None and sa == sb


def _admit_edges(
    parts: list[_Part], edges: Sequence[LateralEdge], common: Mapping[str, int], win: float, near: float
) -> list[_Part]:
    """Lateral edges count only when their account or logon session appears in a lead near that time.

    An account too common to join on anchors an edge only through a lead it has on one of the edge's two
    devices ``near`` in time: the admin logon that carried what a lead found on the server.
    """
    if not edges:
        return []
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    local: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)  # (device, actor) -> spans
    for p in parts:
        for k in p.keys:
            if k.kind in ("account", "logon"):
                spans[k.key].append((p.first, p.last))
            elif k.kind == "device":
                for actor in p.actors:
                    local[(k.key, actor)].append((p.first, p.last))
    out: list[_Part] = []
    for edge in sorted(set(edges), key=lambda e: (e.time, e.src_device, e.dst_device, e.account, e.method)):
        if device_key(edge.src_device) == device_key(edge.dst_device):
            continue
        every = _edge_keys(edge)
        keys = [k for k in every if k.key not in common or k.kind == "device"]
        actors = _actors(every)
        t = _seconds(edge.time)
        anchored = any(
            first - win <= t <= last + win
            for k in keys
            if k.kind in ("account", "logon")
            for first, last in spans.get(k.key, ())
        ) or any(
            first - near <= t <= last + near
            for device in every
            if device.kind == "device"
            for actor in actors & common.keys()
            for first, last in local.get((device.key, actor), ())
        )
        if anchored:
            out.append(_Part(t, t, None, edge, keys, actors))
    return out


def _explain(
    parts: list[_Part],
    tree: Mapping[int, list[tuple[int, str, float]]],
    seeds: list[int],
    key_info: Mapping[str, EntityKey],
) -> dict[int, dict[str, Any]]:
    """Why each participant is in its component: the link to its parent on a BFS over the joining links."""
    reasons: dict[int, dict[str, Any]] = {}
    for s in seeds:
        p = parts[s]
        reasons[s] = {
            "entity": "seed",
            "value": "earliest lead of the story",
            "time": p.lead.first_seen.isoformat() if p.lead else "",
        }
    queue = deque(sorted(seeds))
    seen = set(seeds)
    while queue:
        cur = queue.popleft()
        for nxt, key, gap in sorted(tree.get(cur, ()), key=lambda x: (parts[x[0]].order, x[1])):
            if nxt in seen:
                continue
            seen.add(nxt)
            queue.append(nxt)
            info = key_info[key]
            parent = parts[cur]
            child = parts[nxt]
            reason: dict[str, Any] = {
                "entity": info.kind,
                "value": info.value,
                "key": key,
                "gap_seconds": round(gap, 3),
                "time": child.lead.first_seen.isoformat() if child.lead else child.edge.time.isoformat(),  # type: ignore[union-attr]
            }
            if parent.lead is not None:
                reason["linked_lead"] = parent.lead.id
            else:
                reason["linked_lead"] = reasons[cur].get("linked_lead")
                reason["lateral_movement"] = parent.edge.to_dict()  # type: ignore[union-attr]
            if parent.lead is None and parent.edge is not None:
                reason["entity_via_edge"] = reason["entity"]
                reason["entity"] = "lateral_movement"
            reasons[nxt] = reason
    return reasons
