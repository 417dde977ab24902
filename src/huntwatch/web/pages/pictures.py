"""Layouts for the pictures pages draw as server-side SVG: the story timeline, process trees, the scope graph.

Only geometry is computed here; the Jinja templates turn it into SVG with autoescaping, so names and command
lines from telemetry stay text. Pure functions over the story's JSON, so they are tested without a browser.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

MAX_POINTS = 400
MAX_TREE_NODES = 150
ROW = 22
INDENT = 22
LABEL_CHARS = 60


def _short(text: str, n: int = LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    try:
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        return None


@dataclass
class Point:
    x: float
    y: float
    label: str
    detail: str
    key: bool


@dataclass
class Timeline:
    width: int
    height: int
    lanes: list[tuple[str, float]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    total: int = 0  # events before thinning


def _spread(items: list[Any], n: int) -> list[Any]:
    """At most ``n`` items picked evenly from first to last."""
    if n <= 0:
        return []
    if len(items) <= n:
        return list(items)
    step = (len(items) - 1) / max(n - 1, 1)
    return [items[round(i * step)] for i in range(n)]


def timeline(events: list[dict[str, Any]], width: int = 960, lane_height: int = 34, left: int = 190) -> Timeline:
    """One lane per device, events placed by time; key events (the ones leads point at) drawn large."""
    dated = sorted(((t, e) for e in events if (t := _when(e.get("time"))) is not None), key=lambda te: te[0])
    total = len(dated)
    if total > MAX_POINTS:
        # Thin evenly over the whole span so the picture keeps its shape; flagged events get most of the room.
        key = [te for te in dated if te[1].get("key")]
        rest = [te for te in dated if not te[1].get("key")]
        key = _spread(key, MAX_POINTS * 3 // 4 if rest else MAX_POINTS)
        dated = sorted(key + _spread(rest, MAX_POINTS - len(key)), key=lambda te: te[0])
    devices = sorted({str(e.get("device") or "?") for _, e in dated})
    pic = Timeline(width=width, height=40 + lane_height * max(len(devices), 1), total=total)
    if not dated:
        return pic
    lo, hi = dated[0][0], dated[-1][0]
    span = max((hi - lo).total_seconds(), 1.0)
    usable = width - left - 50
    lane_y = {d: 20 + lane_height * i + lane_height / 2 for i, d in enumerate(devices)}
    pic.lanes = [(d, y) for d, y in lane_y.items()]
    for t, e in dated:
        x = left + usable * (t - lo).total_seconds() / span
        label = _short(f"{e.get('action') or e.get('table') or ''} {e.get('summary') or e.get('title') or ''}", 120)
        detail = f"{t:%Y-%m-%d %H:%M:%S} {e.get('device') or ''} {e.get('account') or ''}".strip()
        pic.points.append(Point(round(x, 1), lane_y[str(e.get("device") or "?")], label, detail, bool(e.get("key"))))
    for i in range(5):
        at = lo + dt.timedelta(seconds=span * i / 4)
        pic.ticks.append((round(left + usable * i / 4, 1), f"{at:%m-%d %H:%M}"))
    return pic


@dataclass
class TreeNode:
    x: float
    y: float
    label: str
    detail: str
    in_story: bool


@dataclass
class Tree:
    device: str
    width: int
    height: int
    nodes: list[TreeNode] = field(default_factory=list)
    edges: list[tuple[float, float, float, float]] = field(default_factory=list)
    truncated: bool = False


def process_trees(trees: list[dict[str, Any]], width: int = 960) -> list[Tree]:
    """Indented trees (like a file explorer): a row per process, an elbow line from parent to child."""
    out = []
    for tree in trees:
        pic = Tree(device=str(tree.get("device") or "?"), width=width, height=0)
        stack: list[tuple[dict[str, Any], int, tuple[float, float] | None]] = [
            (root, 0, None) for root in reversed(tree.get("roots") or [])
        ]
        while stack:
            proc, depth, parent = stack.pop()
            if len(pic.nodes) >= MAX_TREE_NODES:
                pic.truncated = True
                break
            x, y = 12 + depth * INDENT, 16 + len(pic.nodes) * ROW
            label = _short(f"{proc.get('process') or '?'} ({proc.get('pid') if proc.get('pid') is not None else '?'})")
            detail = _short(f"{proc.get('command_line') or ''}  {proc.get('account') or ''}", 140)
            pic.nodes.append(TreeNode(x, y, label, detail, bool(proc.get("in_story"))))
            if parent is not None:
                pic.edges.append((parent[0] + 4, parent[1] + 5, x - 2, y))
            for child in reversed(proc.get("children") or []):
                stack.append((child, depth + 1, (x, y)))
        pic.height = 16 + ROW * max(len(pic.nodes), 1)
        out.append(pic)
    return out


@dataclass
class GraphNode:
    id: str
    kind: str  # device | account
    label: str
    x: float
    y: float
    detail: str = ""


@dataclass
class GraphEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str  # lateral | logon
    label: str
    detail: str = ""


@dataclass
class ScopeGraph:
    width: int
    height: int
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    show_labels: bool = True  # off when arrows are many; their labels would pile up


def _name(item: Any) -> str:
    return str(item.get("name") if isinstance(item, dict) else item)


def scope_graph(scope: dict[str, Any], width: int = 960) -> ScopeGraph:
    """Accounts in a column on the left, devices on an ellipse to the right; lateral movement as arrows.

    Keeping accounts off the ellipse means an arrow between two devices never runs through an account.
    """
    devices = [_name(d) for d in (scope.get("devices") or [])][:40]
    accounts = list(scope.get("accounts") or [])[:20]
    lateral = list(scope.get("lateral_movement") or [])
    for edge in lateral:
        for end in (str(edge.get("source") or ""), str(edge.get("target") or "")):
            if end and end.lower() not in {d.lower() for d in devices}:
                devices.append(end)
    height = max(240, min(520, 90 + 36 * max(len(devices), len(accounts))))
    pic = ScopeGraph(width=width, height=height)
    cx, cy, rx, ry = width * 0.62, height / 2, width * 0.26, height / 2 - 45
    where: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(devices):
        angle = 2 * math.pi * i / max(len(devices), 1) - math.pi / 2
        x, y = (cx, cy) if len(devices) == 1 else (cx + rx * math.cos(angle), cy + ry * math.sin(angle))
        where[name.lower()] = (x, y)
        pic.nodes.append(GraphNode(f"d{i}", "device", _short(name, 32), round(x, 1), round(y, 1), name))
    step = (height - 60) / max(len(accounts), 1)
    for i, acc in enumerate(accounts):
        name = _name(acc)
        x, y = 130.0, 30 + step * (i + 0.5)
        privileges = ", ".join(acc.get("privileges") or []) if isinstance(acc, dict) else ""
        pic.nodes.append(GraphNode(f"a{i}", "account", _short(name, 32), x, round(y, 1), privileges))
        for dev in (acc.get("devices") or []) if isinstance(acc, dict) else []:
            if (to := where.get(str(dev).lower())) is not None:
                pic.edges.append(GraphEdge(x, round(y, 1), round(to[0], 1), round(to[1], 1), "logon", ""))
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for edge in lateral:
        key = (str(edge.get("source") or "").lower(), str(edge.get("target") or "").lower())
        pairs.setdefault(key, []).append(edge)
    for (src, dst), edges in pairs.items():
        a, b = where.get(src), where.get(dst)
        if a and b and a != b:
            # One arrow per pair of devices, stopping short of the target's marker so the head stays visible.
            dx, dy = b[0] - a[0], b[1] - a[1]
            norm = math.hypot(dx, dy) or 1.0
            end = (b[0] - dx / norm * 14, b[1] - dy / norm * 14)
            methods = sorted({f"{e.get('method') or '?'} as {e.get('account') or '?'}" for e in edges})
            label = _short(methods[0], 40) if len(methods) == 1 else f"{len(methods)} ways"
            pic.edges.append(
                GraphEdge(round(a[0], 1), round(a[1], 1), round(end[0], 1), round(end[1], 1), "lateral", label,
                          "; ".join(methods))
            )  # fmt: skip
    pic.show_labels = len(pairs) <= 6
    return pic
