"""``huntwatch rules check`` and ``rules show`` through the real CLI group."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from huntwatch.cli import main

RULE = """\
title: Whoami run
id: 0b9f8a52-6d7e-4a43-9c55-5a0f1a2b3c4d
status: stable
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
"""


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ok.yml").write_text(RULE)
    (folder / "bad.yml").write_text(RULE.replace("process_creation", "file_access").replace("0b9f", "1b9f"))
    return folder


def test_rules_check_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, ["rules", "check", str(_folder(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["compiled"] == 1 and report["files"] == 2
    assert [Path(f["path"]).name for f in report["failed"]] == ["bad.yml"]
    assert "file_access" in report["failed"][0]["reason"]


def test_rules_check_table_and_show(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    folder = _folder(tmp_path)
    result = CliRunner().invoke(main, ["rules", "check", str(folder)])
    assert result.exit_code == 0 and "1 rules compiled from 2 files" in result.output
    shown = CliRunner().invoke(main, ["rules", "show", "0b9f8a52-6d7e-4a43-9c55-5a0f1a2b3c4d", "--sigma", str(folder)])
    assert shown.exit_code == 0 and "ends_with(f_Image, '\\whoami.exe')" in shown.output
    assert "Discovery" in shown.output and "T1033" in shown.output
    spark = CliRunner().invoke(
        main, ["rules", "show", "0b9f8a52-6d7e-4a43-9c55-5a0f1a2b3c4d", "--sigma", str(folder), "--spark"]
    )
    assert spark.exit_code == 0 and "ENDSWITH(f_Image, '\\\\whoami.exe')" in spark.output
