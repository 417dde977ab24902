"""A real standalone Spark cluster on 127.0.0.1 runs the built-in hunts and Sigma rules on a slice of the dev
corpus, and its leads equal the embedded DuckDB engine's: same hunt ids, same evidence keys.

The master and one worker (1 core, 1 GB) are started from the pyspark installation's ``spark-class`` and
stopped by process id at teardown.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from huntwatch.hunting import LeadCandidate, hunt_candidates, load_hunts, run_hunts
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine, Engine
from huntwatch.lake.spark import SparkEngine
from huntwatch.state import Database

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DATASETS = SHARED / "datasets"
SLICE = [
    "hayabusa-sample-evtx/YamatoSecurity",
    "hayabusa-sample-evtx/DeepBlueCLI/password-spray.evtx.gz",
    "hayabusa-sample-evtx/DeepBlueCLI/metasploit-psexec-native-target-security.evtx.gz",
    "hayabusa-sample-evtx/DeepBlueCLI/mimikatz-privesc-hashdump.evtx.gz",
    "sigmahq-regression-data/regression_data/rules/windows/process_creation",
    "evtx-to-mitre-attack/TA0008-Lateral Movement",
]
# The Windows built-in log rules (326): the process_creation set packs hundreds of rules per statement,
# which a one-core worker plans and runs far too slowly for a test.
SIGMA_DIRS = ["rules/windows/builtin"]
TENANT = "dev"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{log.name} did not log {text!r} within {timeout_s:g} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a daemon and the JVM spark-class started for it (its own process group, led by its pid)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a running master with one registered worker."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark-cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work),
        "SPARK_WORKER_DIR": str(work / "worker"),
    }
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    spark_class = str(spark_home / "bin" / "spark-class")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        master_log = work / "master.log"
        with open(master_log, "wb") as out:
            master = subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                 "--webui-port", str(_free_port())],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        procs.append(master)
        _wait_for(master_log, "I have been elected leader", master, 90)
        worker_log = work / "worker.log"
        with open(worker_log, "wb") as out:
            worker = subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
                 "--memory", "1g", "--webui-port", str(_free_port()), "--work-dir", str(work / "worker")],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        procs.append(worker)
        _wait_for(worker_log, "Successfully registered with master", worker, 90)
        yield url
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(scope="module")
def dev_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = [DATASETS / p for p in SLICE]
    missing = [p for p in paths if not p.exists()]
    if missing:
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"dataset files missing in CI: {missing}")
        pytest.skip(f"dataset not available: {missing[0]}")
    root = tmp_path_factory.mktemp("dev-lake")
    report = ingest_paths(DuckDBEngine(root), TENANT, paths)
    assert report.events_written > 500 and not report.errors
    return root


def _hunt_leads(engine: Engine, tenant: str) -> list[LeadCandidate]:
    """Each built-in hunt's query on ``engine``; its rows grouped into leads the way the runner does."""
    con = duckdb.connect(":memory:")
    leads: list[LeadCandidate] = []
    try:
        for hunt in load_hunts():
            con.register("hunt_rows", engine.query(hunt.query, tenant, timeout_s=120))
            leads += hunt_candidates(con, dataclasses.replace(hunt, query="SELECT * FROM hunt_rows"))
            con.unregister("hunt_rows")
    finally:
        con.close()
    return leads


def _keys(leads: list[LeadCandidate]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((lead.hunt_id, tuple(sorted(lead.evidence))) for lead in leads)


@pytest.fixture(scope="module")
def spark(cluster: str, dev_lake: Path) -> Iterator[SparkEngine]:
    conf = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.executor.memory": "768m",
        "spark.cores.max": "1",
    }
    with SparkEngine(dev_lake, master=cluster, conf=conf, shuffle_partitions=2) as engine:
        yield engine
        assert engine.spark.sparkContext.master == cluster
        executors = engine.spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
        assert executors >= 2  # the driver and the worker's executor ran the jobs


def test_hunts_on_a_standalone_cluster_equal_duckdb(spark: SparkEngine, dev_lake: Path, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.create_all()
    # the reference: the real runner on the embedded engine
    report = run_hunts(DuckDBEngine(dev_lake), db, TENANT, analytics=[])
    assert not report.errors, report.errors
    reference = _keys(report.candidates)
    assert len({hunt_id for hunt_id, _ in reference}) >= 5
    assert _keys(_hunt_leads(spark, TENANT)) == reference


def test_sigma_on_a_standalone_cluster_equals_duckdb(spark: SparkEngine, dev_lake: Path) -> None:
    from huntwatch.hunting.sigma.ruleset import SigmaRuleSet

    sigma = SigmaRuleSet.load([SHARED / "sigma" / d for d in SIGMA_DIRS])
    reference = _keys(sigma.run(DuckDBEngine(dev_lake), TENANT))
    assert len({rule for rule, _ in reference}) >= 10
    assert _keys(sigma.run(spark, TENANT, timeout_s=600)) == reference
