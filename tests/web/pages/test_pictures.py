"""Layouts of the pictures: lanes per device, indented trees, lateral arrows between device nodes."""

from __future__ import annotations

import datetime as dt

from huntwatch.web.pages import pictures
from huntwatch.web.pages.common import relative
from tests.web.pages.world import EVIL_DEVICE, hostile_story

NOW = dt.datetime(2026, 11, 27, 12, 0, 0)


def test_timeline_places_events_by_time_in_device_lanes() -> None:
    events = [
        {"time": "2026-11-27T10:00:00", "device": "a", "summary": "first", "key": True},
        {"time": "2026-11-27T12:00:00", "device": "b", "summary": "last", "key": False},
        {"time": "2026-11-27T11:00:00", "device": "a", "summary": "middle", "key": False},
        {"time": "not a time", "device": "c"},
    ]
    pic = pictures.timeline(events, width=1000, left=200)
    assert [name for name, _ in pic.lanes] == ["a", "b"]
    xs = {p.label.strip(): p.x for p in pic.points}
    assert xs["first"] == 200 and xs["last"] == 950 and xs["middle"] == 575
    assert [p.key for p in pic.points] == [True, False, False]
    assert len(pic.ticks) == 5
    assert pictures.timeline([]).points == []


def test_long_timelines_are_thinned_over_the_whole_span() -> None:
    start = dt.datetime(2026, 11, 1)
    events = [{"time": (start + dt.timedelta(minutes=i)).isoformat(), "device": "a", "key": i % 10 != 0}
              for i in range(2000)]  # fmt: skip
    pic = pictures.timeline(events)
    assert pic.total == 2000 and len(pic.points) == pictures.MAX_POINTS
    assert min(p.x for p in pic.points) == 190 and max(p.x for p in pic.points) == 910  # first and last kept
    assert sum(p.key for p in pic.points) == pictures.MAX_POINTS * 3 // 4


def test_process_tree_is_indented_and_capped() -> None:
    story = hostile_story(1, NOW)
    (tree,) = pictures.process_trees(story.process_trees)
    assert tree.device == EVIL_DEVICE
    assert [n.x for n in tree.nodes] == [12, 34, 56]
    assert [n.in_story for n in tree.nodes] == [False, True, True]
    assert len(tree.edges) == 2
    wide = {"device": "d", "roots": [{"process": f"p{i}", "pid": i, "children": []} for i in range(500)]}
    (big,) = pictures.process_trees([wide])
    assert big.truncated and len(big.nodes) == pictures.MAX_TREE_NODES


def test_scope_graph_has_devices_accounts_and_lateral_arrows() -> None:
    graph = pictures.scope_graph(hostile_story(1, NOW).scope)
    kinds = sorted(n.kind for n in graph.nodes)
    assert kinds == ["account", "device", "device"]
    lateral = [e for e in graph.edges if e.kind == "lateral"]
    assert len(lateral) == 1 and "{{7*7}}" in lateral[0].label
    assert len([e for e in graph.edges if e.kind == "logon"]) == 2
    plain = pictures.scope_graph({"devices": ["x", "y"], "lateral_movement": [{"source": "x", "target": "z"}]})
    assert sorted(n.label for n in plain.nodes) == ["x", "y", "z"]


def test_relative_times() -> None:
    assert relative(NOW - dt.timedelta(minutes=5), NOW) == "5 min ago"
    assert relative(NOW - dt.timedelta(days=3, hours=2), NOW) == "3 d ago"
    assert relative(NOW + dt.timedelta(hours=2), NOW) == "in 2 h"
    assert relative(NOW, NOW) == "just now"
    assert relative(None) == "—"
