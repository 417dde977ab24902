"""SparkEngine: transpilation (fast, no JVM) and one local Spark session proving it answers like DuckDB."""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

import pyarrow as pa
import pytest

from huntwatch.hunting import load_hunts
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine, Engine, LakeError, QueryError
from huntwatch.lake.spark import SparkEngine, engine_from_options, to_spark_sql
from huntwatch.schema import arrow_schema
from tests.conftest import dataset

# -- transpilation ------------------------------------------------------------------------------------


def test_padded_alternation_becomes_substring_tests() -> None:
    out = to_spark_sql("SELECT 1 FROM RawEvents WHERE regexp_matches(lower(Fields['CommandLine']), '.*(mimi|sek_x).*')")
    assert "RLIKE" not in out.sql
    assert "LIKE '%mimi%' OR" in out.sql
    assert "'%sek\\\\_x%'" in out.sql  # '_' escaped for LIKE, backslash escaped for Spark's string literal


def test_padding_is_stripped_from_real_regexes_and_flags_survive() -> None:
    out = to_spark_sql("SELECT 1 FROM t WHERE regexp_matches(x, '.*\\d+\\.exe.*', 'i')")
    assert "RLIKE '(?i)\\\\d+\\\\.exe'" in out.sql
    # an escaped trailing dot-star is a literal '.' repeated, not padding
    assert "\\\\.*'" in to_spark_sql("SELECT 1 FROM t WHERE regexp_matches(x, 'a\\.*')").sql


def test_inline_case_flag_and_literal_and_full_match() -> None:
    assert "ILIKE '%temp%'" in to_spark_sql("SELECT 1 FROM t WHERE regexp_matches(x, '(?i)temp')").sql
    assert "LIKE '%a.b%'" in to_spark_sql("SELECT 1 FROM t WHERE regexp_matches(x, 'a.b', 'l')").sql
    assert "RLIKE '^(?:ab|c)$'" in to_spark_sql("SELECT 1 FROM t WHERE regexp_full_match(x, 'ab|c')").sql
    assert " LIKE '%a%'" in to_spark_sql("SELECT 1 FROM t WHERE regexp_matches(x, 'a', 'ic')").sql


def test_time_bucket_and_like_backslashes() -> None:
    out = to_spark_sql("SELECT time_bucket(INTERVAL 15 MINUTE, Timestamp) AS b FROM t WHERE x LIKE '%\\temp\\%'")
    assert "DATE_BIN" not in out.sql and "TIMESTAMP_MICROS" in out.sql
    # DuckDB's backslash is literal; Spark's escapes: one becomes two, then doubled again in the SQL literal
    assert "LIKE '%" + "\\" * 4 + "temp" + "\\" * 4 + "%'" in out.sql
    with pytest.raises(QueryError):
        to_spark_sql("SELECT time_bucket(INTERVAL 1 MONTH, Timestamp) FROM t")
    # Spark's chr() wraps at 256: the right-to-left override must stay U+202E, not '.'
    assert "\u202e" in to_spark_sql("SELECT 1 FROM t WHERE x LIKE '%' || chr(8238) || '%'").sql


def test_numbered_parameters_are_reordered() -> None:
    out = to_spark_sql("SELECT $2 AS a FROM t WHERE b = $1 AND c = $2")
    assert out.sql.count("?") == 3
    assert out.bind(["one", "two"]) == ["two", "one", "two"]
    with pytest.raises(QueryError):
        out.bind(["one"])


def test_integer_casts_of_text_accept_hex_like_duckdb() -> None:
    out = to_spark_sql("SELECT TRY_CAST(Fields['AccessMask'] AS BIGINT) & 2, CAST(3 AS INT), CAST(? AS INT) FROM t").sql
    assert "CONV(REGEXP_EXTRACT(CAST(Fields['AccessMask'] AS STRING), '0[xX]([0-9a-fA-F]+)$'), 16, 10)" in out
    assert out.count("TRY_CAST") == 2  # both branches keep TRY_CAST's NULL on bad text
    assert "CAST(3 AS INT)" in out and "CAST(? AS INT)" in out  # numbers and parameters are left alone


def test_transpilation_is_cached_and_bad_sql_is_a_query_error() -> None:
    sql = "SELECT DeviceName FROM DeviceProcessEvents WHERE ProcessCommandLine ILIKE '%-enc%'"
    assert to_spark_sql(sql) is to_spark_sql(sql)
    with pytest.raises(QueryError):
        to_spark_sql("SELECT FROM WHERE (")
    with pytest.raises(QueryError):
        to_spark_sql("SELECT 1; SELECT 2")


def test_engine_from_options(tmp_path: Path) -> None:
    assert isinstance(engine_from_options("duckdb", None, tmp_path), DuckDBEngine)
    spark = engine_from_options("spark", "local[1]", tmp_path)
    assert isinstance(spark, SparkEngine) and isinstance(spark, Engine)
    assert spark.master == "local[1]"
    with pytest.raises(LakeError):
        engine_from_options("duckdb", "local[1]", tmp_path)
    with pytest.raises(LakeError):
        engine_from_options("presto", None, tmp_path)


# -- a small lake both engines read -------------------------------------------------------------------

T0 = dt.datetime(2024, 3, 1, 23, 0, 0)


def _rows(tenant: str, n: int, offset: int = 0) -> dict[str, pa.Table]:
    procs, nets, raw = [], [], []
    for i in range(offset, offset + n):
        ts = T0 + dt.timedelta(minutes=7 * i)
        device = f"ws{i % 3:02d}.corp.example"
        cmd = ["cmd.exe /c whoami", "powershell.exe -enc SQBFAFgA", "C:\\Temp\\Mimikatz.exe sekurlsa::logonpasswords"][
            i % 3
        ]
        key = f"{tenant}-{i}"
        procs.append(
            {
                "TenantId": tenant,
                "EventKey": key,
                "Timestamp": ts,
                "DeviceId": f"id-{device}",
                "DeviceName": device,
                "ActionType": "ProcessCreated",
                "FileName": cmd.split()[0].rsplit("\\", 1)[-1].lower(),
                "ProcessId": 1000 + i,
                "ProcessCommandLine": cmd,
                "InitiatingProcessFileName": "explorer.exe" if i % 2 else None,
            }
        )
        nets.append(
            {
                "TenantId": tenant,
                "EventKey": key + "-n",
                "Timestamp": ts + dt.timedelta(seconds=5),
                "DeviceId": f"id-{device}",
                "DeviceName": device,
                "ActionType": "ConnectionSuccess",
                "RemoteIP": f"10.0.0.{i % 5}",
                "RemotePort": [443, 445, 3389][i % 3],
                "InitiatingProcessId": 1000 + i,
            }
        )
        fields = {"CommandLine": cmd, "Image": cmd.split()[0]}
        if i % 4 == 0:
            fields["ParentImage"] = "C:\\Windows\\explorer.exe"
        raw.append(
            {
                "TenantId": tenant,
                "EventKey": key,
                "Timestamp": ts,
                "DeviceName": device,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Provider": "Microsoft-Windows-Sysmon",
                "EventID": 1,
                "RecordId": i,
                "SourceFile": "synthetic",
                "Fields": list(fields.items()),
            }
        )
    return {
        "DeviceProcessEvents": pa.Table.from_pylist(procs, schema=arrow_schema("DeviceProcessEvents")),
        "DeviceNetworkEvents": pa.Table.from_pylist(nets, schema=arrow_schema("DeviceNetworkEvents")),
        "RawEvents": pa.Table.from_pylist(raw, schema=arrow_schema("RawEvents")),
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    duck = DuckDBEngine(root)
    duck.append("acme", _rows("acme", 40))
    duck.append("acme", _rows("acme", 20, offset=40))
    duck.append("globex", _rows("globex", 30))
    return root


@pytest.fixture(scope="module")
def spark(lake: Path):
    engine = SparkEngine(lake, master="local[1]")
    yield engine
    engine.close()


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.column_names == b.column_names
    rows_a = sorted(map(repr, a.to_pylist()))
    rows_b = sorted(map(repr, b.to_pylist()))
    assert rows_a == rows_b


PARITY_QUERIES = [
    "SELECT DeviceName, count(*) AS n FROM DeviceProcessEvents GROUP BY DeviceName ORDER BY DeviceName",
    "SELECT EventKey, ProcessCommandLine FROM DeviceProcessEvents WHERE ProcessCommandLine ILIKE '%-ENC%'",
    "SELECT EventKey FROM DeviceProcessEvents WHERE regexp_matches(ProcessCommandLine, '.*(mimikatz|whoami).*', 'i')",
    "SELECT EventKey FROM DeviceProcessEvents "
    "WHERE regexp_matches(lower(ProcessCommandLine), '^c:\\\\temp\\\\[a-z]+\\.exe')",
    "SELECT EventKey, Fields['CommandLine'] AS cmd, Fields['ParentImage'] AS parent, Fields['Nope'] AS nope "
    "FROM RawEvents WHERE Fields['Image'] ILIKE '%.exe'",
    "SELECT strftime(Timestamp, '%Y-%m-%d') AS day, date_trunc('hour', Timestamp) AS hour, count(*) AS n "
    "FROM DeviceProcessEvents GROUP BY ALL",
    "SELECT p.EventKey, n.RemoteIP, n.RemotePort FROM DeviceProcessEvents p JOIN DeviceNetworkEvents n "
    "ON p.DeviceId = n.DeviceId AND p.ProcessId = n.InitiatingProcessId "
    "AND n.Timestamp BETWEEN p.Timestamp AND p.Timestamp + INTERVAL 1 MINUTE WHERE n.RemotePort IN (445, 3389)",
    "SELECT DeviceName, EventKey, Timestamp FROM DeviceProcessEvents "
    "QUALIFY row_number() OVER (PARTITION BY DeviceName ORDER BY Timestamp DESC) = 1",
    "SELECT DeviceName, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen, "
    "count(DISTINCT FileName) AS files FROM DeviceProcessEvents GROUP BY DeviceName HAVING count(*) > 3",
    "SELECT count(*) AS n, max(RegistryKey) AS k FROM DeviceRegistryEvents",
    "SELECT DeviceName, time_bucket(INTERVAL 15 MINUTE, Timestamp) AS bucket, count(*) AS n "
    "FROM DeviceProcessEvents WHERE ProcessCommandLine ILIKE '%\\temp\\%' OR FileName LIKE '%.exe' GROUP BY ALL",
    "SELECT coalesce(InitiatingProcessFileName, 'unknown') AS parent, count(*) AS n FROM DeviceProcessEvents "
    "GROUP BY 1",
    # Windows writes access masks and ids as 0x... text: DuckDB casts them, Spark must too
    "SELECT EventKey, TRY_CAST('0x' || CAST(ProcessId AS VARCHAR) AS BIGINT) AS from_hex, "
    "TRY_CAST('0X1f' AS INTEGER) AS upper_x, TRY_CAST(' 0x10' AS BIGINT) AS spaced, TRY_CAST('0xzz' AS BIGINT) AS bad, "
    "CAST(CAST(ProcessId AS VARCHAR) AS BIGINT) AS plain FROM DeviceProcessEvents",
]


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.parametrize("sql", PARITY_QUERIES)
def test_spark_answers_like_duckdb(spark: SparkEngine, lake: Path, sql: str) -> None:
    duck = DuckDBEngine(lake)
    for tenant in ("acme", ["acme", "globex"]):
        expected = duck.query(sql, tenant)
        assert expected.num_rows > 0
        _same(spark.query(sql, tenant), expected)


@pytest.mark.slow
@pytest.mark.spark
def test_scoping_params_inputs_and_types(spark: SparkEngine, lake: Path) -> None:
    duck = DuckDBEngine(lake)
    count = "SELECT TenantId, count(*) AS n FROM DeviceProcessEvents GROUP BY TenantId"
    assert spark.query(count, "globex").to_pylist() == [{"TenantId": "globex", "n": 30}]
    first_seq = spark.store.catalog("acme").batches[0].seq
    assert spark.query(count, "acme", after_seq=first_seq).to_pylist() == [{"TenantId": "acme", "n": 20}]

    sql = "SELECT EventKey, Timestamp, Fields FROM RawEvents WHERE DeviceName = ? AND RecordId < $2 ORDER BY RecordId"
    with pytest.raises(QueryError):  # mixing styles is refused by both engines
        spark.query(sql, "acme", params=["ws01.corp.example", 10])
    sql = "SELECT EventKey, Timestamp, Fields FROM RawEvents WHERE DeviceName = ? AND RecordId < ? ORDER BY RecordId"
    got = spark.query(sql, "acme", params=["ws01.corp.example", 10])
    _same(got, duck.query(sql, "acme", params=["ws01.corp.example", 10]))
    assert got.schema.field("Timestamp").type == pa.timestamp("us")
    assert got.schema.field("Fields").type == pa.map_(pa.string(), pa.string())

    watch = pa.table({"ip": ["10.0.0.1", "10.0.0.4"], "why": ["c2", "scanner"]})
    sql = "SELECT n.EventKey, w.why FROM DeviceNetworkEvents n JOIN watch w ON n.RemoteIP = w.ip"
    _same(spark.query(sql, "acme", inputs={"watch": watch}), duck.query(sql, "acme", inputs={"watch": watch}))
    with pytest.raises(QueryError):  # inputs do not outlive their query
        spark.query("SELECT * FROM watch", "acme")
    with pytest.raises(QueryError):
        spark.query("SELECT 1 FROM DeviceProcessEvents", "acme", inputs={"bad name": watch})

    with pytest.raises(QueryError, match=r"(?i)cannot|unresolved|not found|column"):
        spark.query("SELECT NoSuchColumn FROM DeviceProcessEvents", "acme")


@pytest.mark.slow
@pytest.mark.spark
def test_new_batches_are_seen_and_runaway_queries_are_cancelled(spark: SparkEngine, lake: Path) -> None:
    before = spark.query("SELECT count(*) AS n FROM DeviceProcessEvents", "globex").column("n")[0].as_py()
    spark.append("globex", _rows("globex", 5, offset=500))
    after = spark.query("SELECT count(*) AS n FROM DeviceProcessEvents", "globex").column("n")[0].as_py()
    assert after == before + 5

    # 20k x 20k x 50 rows: long in total, yet each streamed row's inner loop is short, so a cancel lands fast
    big = _rows("big", 20_000)
    big["DeviceNetworkEvents"] = big["DeviceNetworkEvents"].slice(0, 50)
    spark.append("big", big)
    bomb = (
        "SELECT count(*) AS n FROM RawEvents a, DeviceProcessEvents b, DeviceNetworkEvents c "
        "WHERE a.RecordId + b.ProcessId + c.RemotePort > -1"
    )
    started = time.monotonic()
    with pytest.raises(QueryError, match="time limit"):
        spark.query(bomb, "big", timeout_s=3)
    assert time.monotonic() - started < 30
    # the session is still usable after a cancellation
    assert spark.query("SELECT count(*) AS n FROM DeviceNetworkEvents", "acme").column("n")[0].as_py() == 60


def test_the_hunt_runner_gives_the_same_leads_on_spark(spark: SparkEngine, lake: Path, tmp_path: Path) -> None:
    """``huntwatch hunt --engine spark`` path: hunts run on Spark, rows grouped locally, same leads as DuckDB."""
    from huntwatch.hunting import list_leads, load_hunts, run_hunts
    from huntwatch.ingest import ingest_paths
    from huntwatch.state import Database
    from tests.conftest import dataset

    recording = dataset(
        "evtx-to-mitre-attack/EVTX_full_APT_attack_steps/"
        "ID5140-5145,4688,4697-Encrypted payload deployed with service over SMB (GLOBAL).evtx.gz"
    )
    assert ingest_paths(DuckDBEngine(lake), "recording", [recording]).ok
    hunts = load_hunts()
    results = {}
    for name, engine in (("duckdb", DuckDBEngine(lake)), ("spark", spark)):
        db = Database(f"sqlite:///{tmp_path / name}.db")
        db.create_all()
        report = run_hunts(engine, db, "recording", hunts=hunts, analytics=[], timeout_s=600)
        assert not report.errors, report.errors
        results[name] = sorted(
            (lead.hunt_id, tuple(sorted(e["key"] for e in lead.evidence))) for lead in list_leads(db, "recording")
        )
    assert results["spark"] == results["duckdb"]
    assert results["duckdb"], "the recording should make hunts fire"


def _signals() -> dict[str, pa.Table]:
    """Rows on which every built-in analytic finds something (whole seconds: Spark's epoch is integral)."""
    from tests.hunting.conftest import T0, proc, rows_table

    rnd = random.Random(5)
    net = [
        {
            "TenantId": "signals",
            "EventKey": f"n{i:04d}",
            "Timestamp": T0 + dt.timedelta(seconds=i * 60 + rnd.randint(-2, 2)),
            "DeviceName": "ws1",
            "ActionType": "ConnectionSuccess",
            "RemoteIP": "203.0.113.9",
            "RemotePort": 443,
            "InitiatingProcessFileName": "updater.exe",
        }
        for i in range(20)
    ]
    routine = ["outlook.exe", "winword.exe", "excel.exe", "chrome.exe", "teams.exe"]
    procs = [
        proc(i, i * 3, routine[i % len(routine)], device=f"ws{i % 3}", account=f"user{i % 4}", parent="services.exe")
        for i in range(80)
    ]
    tools = ["whoami.exe", "nltest.exe", "adfind.exe", "rclone.exe"]
    procs += [proc(900 + j, 600 + j, tool, account="mallory", parent="cmd.exe") for j, tool in enumerate(tools)]
    procs.append(proc(950, 700, "a.exe", parent="services.exe", folder="C:\\Users\\bob\\AppData\\Local\\Temp\\a.exe"))
    return {"DeviceNetworkEvents": rows_table("DeviceNetworkEvents", net), "DeviceProcessEvents": rows_table(
        "DeviceProcessEvents", [r | {"TenantId": "signals"} for r in procs])}  # fmt: skip


@pytest.mark.slow
@pytest.mark.spark
def test_analytics_run_on_spark_like_on_duckdb(spark: SparkEngine, lake: Path, tmp_path: Path) -> None:
    """Analytics push their aggregation into whichever engine holds the lake; Spark finds what DuckDB finds."""
    from huntwatch.hunting import run_hunts
    from huntwatch.hunting.analytics import (
        Beaconing,
        FirstSeenUserWritable,
        RareCommandSequence,
        RareParentChild,
        RareProcessPath,
    )
    from huntwatch.hunting.analytics.base import engine_query
    from huntwatch.state import Database

    DuckDBEngine(lake).append("signals", _signals())
    analytics = [
        Beaconing(),
        RareParentChild(min_parent_count=30),
        RareProcessPath(),
        FirstSeenUserWritable(),
        RareCommandSequence(min_events=50),
    ]
    for analytic in analytics:
        found = {}
        for name, engine in (("duckdb", DuckDBEngine(lake)), ("spark", spark)):
            cands = analytic.run(engine_query(engine, "signals", timeout_s=300), None)
            found[name] = sorted((c.group, c.title, tuple(sorted(c.evidence))) for c in cands)
        assert found["duckdb"], analytic.id
        assert found["spark"] == found["duckdb"], analytic.id
    db = Database(f"sqlite:///{tmp_path / 'spark.db'}")
    db.create_all()
    report = run_hunts(spark, db, "signals", hunts=[], analytics=analytics, timeout_s=300)
    assert not report.errors, report.errors
    assert {o.id for o in report.outcomes if o.candidates} == {a.id for a in analytics}


@pytest.mark.slow
@pytest.mark.spark
def test_a_hunt_reading_hex_access_masks_finds_the_real_attack_on_spark(spark: SparkEngine, tmp_path: Path) -> None:
    # Security 4656 on a real recording: the access mask is '0x...' text, cast to an integer by the hunt.
    hunt = next(h for h in load_hunts() if h.id == "accessibility-binary-write-requested")
    root = tmp_path / "lake"
    ingest_paths(DuckDBEngine(root), "t", [dataset(hunt.proven_by[0])])
    expected = DuckDBEngine(root).query(hunt.sql, "t")
    assert expected.num_rows == 1
    on_spark = SparkEngine(root, master="local[1]")  # shares the module's session; the fixture stops it
    got = on_spark.query(hunt.sql, "t")
    unordered = ["EventKeys", "Details"]  # list and string_agg orders are the engines' own
    _same(got.drop_columns(unordered), expected.drop_columns(unordered))
    masks = [
        sorted(d.rpartition(" masks ")[2].split(","))
        for d in (got["Details"][0].as_py(), expected["Details"][0].as_py())
    ]
    assert masks[0] == masks[1] and sorted(got["EventKeys"][0].as_py()) == sorted(expected["EventKeys"][0].as_py())
