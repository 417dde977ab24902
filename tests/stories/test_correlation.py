"""The in-memory correlation core: joins, windows, common entities, existing stories, lateral edges."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from huntwatch.stories.correlation import LateralEdge, LeadNode, correlate_leads
from huntwatch.stories.entities import account_name, device_key, lead_keys

T0 = dt.datetime(2024, 3, 1, 10, 0, 0)


def node(i: int, minutes: float, story: int | None = None, **entities: list[str]) -> LeadNode:
    t = T0 + dt.timedelta(minutes=minutes)
    return LeadNode(i, t, t + dt.timedelta(seconds=30), entities, story)


def test_keys_normalise_names_and_drop_noise() -> None:
    keys = {
        k.key
        for k in lead_keys(
            {
                "device": ["WS1.corp.local"],
                "account": ["CORP\\Alice", "NT AUTHORITY\\SYSTEM", "DWM-1"],
                "logon": ["0x3e7", "0xABC"],
                "process": ["{11111111-2222-3333-4444-555555555555}", "4242", "whoami.exe"],
                "file": ["C:\\Windows\\System32\\cmd.exe", "AA" * 32],
                "remote_ip": ["127.0.0.1", "10.0.0.5"],
            }
        )
    }
    assert keys == {
        "device:ws1",
        "account:alice",
        "logon:ws1|0xabc",
        "process:11111111-2222-3333-4444-555555555555",
        "process:ws1|4242",
        "file:" + "aa" * 32,
        "remote_ip:10.0.0.5",
    }
    assert account_name("alice@corp.local") == "alice"
    assert device_key("10.0.0.5") == "10.0.0.5"


def test_shared_entities_join_and_unrelated_stay_apart() -> None:
    leads = [
        node(1, 0, device=["ws1"], account=["alice"]),
        node(2, 5, device=["ws1"], account=["alice"]),
        node(3, 10, device=["ws2"], account=["bob"]),
        node(4, 12, device=["ws9"], account=["alice"]),  # shares the account with 1 and 2
    ]
    result = correlate_leads(leads)
    assert [sorted(g.lead_ids) for g in result.groups] == [[1, 2, 4], [3]]
    reason = result.groups[0].reasons[4]
    assert reason["entity"] == "account" and reason["linked_lead"] in (1, 2)
    assert result.groups[0].reasons[1]["entity"] == "seed"


def test_window_splits_distant_activity_but_chains_close_activity() -> None:
    leads = [node(1, 0, device=["ws1"]), node(2, 50, device=["ws1"]), node(3, 100, device=["ws1"])]
    assert len(correlate_leads(leads, window=dt.timedelta(hours=1)).groups) == 1
    assert len(correlate_leads(leads, window=dt.timedelta(minutes=20)).groups) == 3


def test_common_account_is_ignored() -> None:
    leads = [node(i, i, device=[f"ws{i}"], account=["helpdesk"]) for i in range(10)]
    result = correlate_leads(leads, common_min_devices=3)
    assert len(result.groups) == 10
    assert "account:helpdesk" in result.common


def test_a_common_account_is_still_a_person_on_a_device_and_chains_there_only_near_in_time() -> None:
    everywhere = [node(i, -600 + i, device=[f"srv{i}"], account=["adm.peggy"]) for i in range(2, 10)]
    admin = node(1, 0, device=["srv1"], account=["adm.peggy"])
    # a user's routine lead on the file server 20 minutes later: the admin's lead is not "the machine"
    user = node(20, 20, device=["srv1"], account=["zlatan"])
    result = correlate_leads([*everywhere, admin, user], common_min_devices=3)
    assert "account:adm.peggy" in result.common
    assert not any({1, 20} <= set(g.lead_ids) for g in result.groups)
    # the admin account's own activity on one device chains near in time, not over the day
    soon, later = (
        node(21, 10, device=["srv1"], account=["adm.peggy"]),
        node(22, 300, device=["srv1"], account=["adm.peggy"]),
    )
    result = correlate_leads([*everywhere, admin, soon, later], common_min_devices=3)
    assert [sorted(g.lead_ids) for g in result.groups if 1 in g.lead_ids] == [[1, 21]]


def test_a_machine_account_joins_the_machines_activity_only_near_in_time() -> None:
    morning = node(1, 0, device=["sql1"], account=["SQL1$", "SYSTEM"])
    assert len(correlate_leads([morning, node(2, 8 * 60, device=["sql1"], account=["SQL1$"])]).groups) == 2
    assert len(correlate_leads([morning, node(2, 20, device=["sql1"], account=["SQL1$"])]).groups) == 1


def test_an_admin_logon_carrying_what_a_lead_found_on_the_server_joins_the_source() -> None:
    everywhere = [node(i, -600 + i, device=[f"srv{i}"], account=["adm.peggy"]) for i in range(2, 10)]
    foothold = node(1, 0, device=["ws1"])  # what the machine did (a dropped tool run as SYSTEM)
    remote = node(20, 1, device=["srv1"], account=["adm.peggy"])
    moved = edge("ws1", "srv1", "adm.peggy", 0.9)
    assert len(correlate_leads([*everywhere, foothold, remote], common_min_devices=3).groups) == 10
    result = correlate_leads([*everywhere, foothold, remote], [moved], common_min_devices=3)
    assert result.edges_admitted == 1
    assert [sorted(g.lead_ids) for g in result.groups if 1 in g.lead_ids] == [[1, 20]]
    # the same logon an hour and more away from the server's lead anchors nothing
    late = edge("ws1", "srv1", "adm.peggy", 90)
    assert correlate_leads([*everywhere, foothold, remote], [late], common_min_devices=3).edges_admitted == 0


def test_a_payload_path_outside_system_folders_joins_its_runs_hours_apart() -> None:
    dll = "C:\\Users\\zlatan\\AppData\\Local\\Temp\\apvfbx.dll"
    keys = {k.key for k in lead_keys({"file": [dll, "C:\\Windows\\System32\\comsvcs.dll", "rundll32.exe"]})}
    assert keys == {"file:c:\\users\\zlatan\\appdata\\local\\temp\\apvfbx.dll"}
    # the user runs the DLL, then a scheduled task runs it as SYSTEM the next night
    first = node(1, 0, device=["ws3"], account=["zlatan"], file=[dll])
    task = node(2, 15 * 60, device=["ws3"], account=["SYSTEM"], file=[dll.upper()])
    assert [sorted(g.lead_ids) for g in correlate_leads([first, task]).groups] == [[1, 2]]
    system = "C:\\Windows\\System32\\comsvcs.dll"
    apart = [node(1, 0, device=["ws3"], account=["zlatan"], file=[system]), node(2, 900, device=["ws3"], file=[system])]
    assert len(correlate_leads(apart).groups) == 2


def test_existing_story_is_extended_and_rerun_adds_nothing() -> None:
    old = [node(1, 0, story=7, device=["ws1"]), node(2, 1, story=7, device=["ws1"])]
    result = correlate_leads([*old, node(3, 2, device=["ws1"])])
    assert len(result.groups) == 1 and result.groups[0].story_id == 7 and result.groups[0].lead_ids == [3]
    assert correlate_leads([*old, node(3, 2, story=7, device=["ws1"])]).groups == []


def test_new_lead_touching_two_stories_is_a_bridge_not_a_merge() -> None:
    leads = [
        node(1, 0, story=7, device=["ws1"]),
        node(2, 0, story=8, device=["ws2"]),
        node(3, 5, device=["ws1", "ws2"]),
    ]
    result = correlate_leads(leads)
    assert [(g.story_id, g.lead_ids) for g in result.groups] == [(7, [3])]
    assert [(b.lead_id, b.joined_story_id, b.other_story_id) for b in result.bridges] == [(3, 7, 8)]


def test_lateral_edge_joins_devices_only_when_its_account_is_in_a_lead() -> None:
    leads = [node(1, 0, device=["ws1"], account=["eve"]), node(2, 30, device=["srv2"])]
    edge = LateralEdge("ws1", "srv2.corp.local", "CORP\\eve", "network logon", T0 + dt.timedelta(minutes=20))
    joined = correlate_leads(leads, [edge])
    assert [sorted(g.lead_ids) for g in joined.groups] == [[1, 2]]
    assert joined.groups[0].reasons[2]["entity"] == "lateral_movement"
    assert joined.groups[0].reasons[2]["lateral_movement"]["to"] == "srv2.corp.local"
    stranger = LateralEdge("ws1", "srv2", "mallory", "network logon", T0 + dt.timedelta(minutes=20))
    assert len(correlate_leads(leads, [stranger]).groups) == 2


def edge(src: str, dst: str, account: str, minutes: float, method: str = "network logon") -> LateralEdge:
    return LateralEdge(src, dst, account, method, T0 + dt.timedelta(minutes=minutes))


def test_logons_into_a_shared_server_do_not_join_their_users() -> None:
    leads = [
        node(1, 0, device=["ws1"], account=["alice"]),
        node(2, 5, device=["ws2"], account=["bob"]),
        node(3, 30, device=["fs1"], account=["adm.carol"]),
    ]
    # everybody opens the file share; each logon's account is in a lead, so every edge is admitted
    edges = [edge("ws1", "fs1", "alice", 20), edge("ws2", "fs1", "bob", 25), edge("ws9", "fs1", "adm.carol", 28)]
    result = correlate_leads(leads, edges)
    assert sorted(sorted(g.lead_ids) for g in result.groups) == [[1], [2], [3]]
    assert result.edges_admitted == 3


def test_two_accounts_meet_on_a_device_only_through_what_the_machine_did_right_then() -> None:
    apart = [node(1, 0, device=["srv1"], account=["alice"]), node(2, 20, device=["srv1"], account=["bob"])]
    assert len(correlate_leads(apart).groups) == 2
    system = node(3, 10, device=["srv1"], account=["SRV1$", "NT AUTHORITY\\SYSTEM"])  # the machine itself
    assert [sorted(g.lead_ids) for g in correlate_leads([*apart, system]).groups] == [[1, 2, 3]]
    later = node(3, 300, device=["srv1"], account=["SRV1$"])
    assert len(correlate_leads([*apart, later]).groups) == 3


def test_routine_logons_do_not_carry_a_chain_into_the_next_day() -> None:
    leads = [node(1, 0, device=["ws1"], account=["alice"]), node(2, 32 * 60, device=["ws1"], account=["alice"])]
    edges = [edge("ws1", "fs1", "alice", m) for m in range(60, 32 * 60, 4 * 60)]  # every 4 hours
    assert len(correlate_leads(leads, edges).groups) == 2


def test_logon_out_of_a_device_joins_what_ran_there_under_another_account() -> None:
    leads = [node(1, 0, device=["ws1"], account=["bob"]), node(2, 30, device=["srv2"], account=["adm.eve"])]
    moved = correlate_leads(leads, [edge("ws1", "srv2", "adm.eve", 10)])
    assert [sorted(g.lead_ids) for g in moved.groups] == [[1, 2]]
    assert len(correlate_leads(leads, [edge("ws1", "srv2", "adm.eve", 200)]).groups) == 2  # not near bob's lead


def test_a_remote_host_name_joins_the_leads_that_name_it_and_noise_names_nothing() -> None:
    keys = {k.key for k in lead_keys({"device": ["dc1"], "remote_device": ["WIN-6VAS7CJHNF7", "-", "DC1", "10.0.0.5"]})}
    assert keys == {"device:dc1", "remote_device:win-6vas7cjhnf7"}  # its own name and addresses are no peer
    # a spraying tool's workstation, seen by the server it guessed at and the DC that checked the guesses
    server = node(1, 0, device=["rds1"], remote_ip=["77.110.244.127"], remote_device=["WIN-6VAS7CJHNF7"])
    dc = node(2, 0.1, device=["dc1"], remote_device=["win-6vas7cjhnf7.example"])
    elsewhere = node(3, 0.2, device=["dc2"], remote_device=["KALI"])
    result = correlate_leads([server, dc, elsewhere])
    assert [sorted(g.lead_ids) for g in result.groups] == [[1, 2], [3]]
    assert result.groups[0].reasons[2]["entity"] == "remote_device"


def test_a_lead_whose_source_is_one_of_our_devices_joins_what_that_device_did_then() -> None:
    # a Kerberos spray seen on the DC, sent from the RDP host where the attacker just dropped a tool
    tool = node(1, 0, device=["rds1"], account=["carol"], file=["ab" * 32])
    spray = LeadNode(2, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2), {"device": ["dc1"]})
    assert len(correlate_leads([tool, spray]).groups) == 2
    sourced = dataclasses.replace(spray, sources=("RDS1.corp.example",))
    result = correlate_leads([tool, sourced])
    assert [sorted(g.lead_ids) for g in result.groups] == [[1, 2]]
    assert result.groups[0].reasons[2] == {**result.groups[0].reasons[2], "entity": "device", "value": "rds1"}
    later = dataclasses.replace(sourced, first_seen=T0 + dt.timedelta(hours=3), last_seen=T0 + dt.timedelta(hours=3))
    assert len(correlate_leads([tool, later]).groups) == 2  # what the machine did joins only near in time


def test_an_address_the_telemetry_shows_on_many_devices_joins_nothing() -> None:
    leads = [node(i, i, device=[f"ws{i}"], remote_ip=["52.97.146.162"]) for i in range(3)]
    assert len(correlate_leads(leads).groups) == 1
    result = correlate_leads(leads, seen_on={"remote_ip:52.97.146.162": 9})
    assert len(result.groups) == 3 and result.common == {"remote_ip:52.97.146.162": 9}


def test_result_does_not_depend_on_input_order() -> None:
    rng = random.Random(4)
    leads = [
        node(i, rng.uniform(0, 600), device=[f"ws{rng.randint(0, 20)}"], account=[f"u{rng.randint(0, 30)}"])
        for i in range(300)
    ]
    a = correlate_leads(leads)
    shuffled = leads[:]
    rng.shuffle(shuffled)
    b = correlate_leads(shuffled)
    assert [(g.lead_ids, g.reasons) for g in a.groups] == [(g.lead_ids, g.reasons) for g in b.groups]
