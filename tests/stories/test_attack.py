"""Tactic spelling and kill-chain ordering of a story's techniques."""

from __future__ import annotations

from huntwatch.stories.attack import tactic_name, tactics_in_order


def test_tactic_spellings() -> None:
    assert tactic_name("TA0006") == "credential-access"
    assert tactic_name("attack.lateral_movement") == "lateral-movement"
    assert tactic_name("Command and Control") == "command-and-control"
    assert tactic_name("not a tactic") is None


def test_techniques_sit_under_their_own_leads_tactics_in_kill_chain_order() -> None:
    order = tactics_in_order(
        [
            (["Lateral Movement"], ["attack.t1021.002"]),
            (["TA0006"], ["T1003.001"]),
            (["initial-access"], ["T1078", "T1210", "T9999"]),
        ]
    )
    assert [t["tactic"] for t in order] == ["initial-access", "credential-access", "lateral-movement", "unknown"]
    assert {x["id"] for x in order[0]["techniques"]} == {"T1078"}
    assert {x["id"] for x in order[2]["techniques"]} == {"T1021.002", "T1210"}
    assert order[1]["techniques"] == [{"id": "T1003.001", "name": "LSASS Memory"}]
