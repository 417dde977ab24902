"""``huntwatch serve`` for real: a uvicorn process on a free 127.0.0.1 port, fed by a sensor token from the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

EVENT = {
    "Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": 4624,
            "EventRecordID": 1,
            "Channel": "Security",
            "Computer": "dc01.acme.test",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-20T10:00:00.000000Z"}},
        },
        "EventData": {"TargetUserName": "alice", "TargetDomainName": "ACME", "LogonType": "3", "IpAddress": "10.0.0.7"},
    }
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from huntwatch.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.slow
def test_serve_real_server_with_sensor_ingest(tmp_path):
    env = {**os.environ, "HUNTWATCH_HOME": str(tmp_path / "home")}
    env.pop("HUNTWATCH_DATABASE_URL", None)
    env.pop("HUNTWATCH_LAKE", None)
    _cli(env, "admin", "create-tenant", "acme")
    token = _cli(env, "admin", "create-token", "--tenant", "acme", "--role", "sensor").strip().splitlines()[-1]
    assert token.startswith("hw_")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from huntwatch.cli import main; main()", "serve", "--port", str(port),
         "--worker-interval", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start: " + (proc.stdout.read() if proc.stdout else ""))
            time.sleep(0.3)
        assert "/api/v1/ingest" in httpx.get(f"{base}/api/v1/openapi.json").json()["paths"]
        headers = {"Authorization": f"Bearer {token}"}
        body = (json.dumps(EVENT) + "\nnot json\n").encode()
        r = httpx.post(f"{base}/api/v1/ingest", content=body, headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["events_written"] == 1 and r.json()["error_count"] == 1
        assert httpx.get(f"{base}/api/v1/alerts", headers=headers).status_code == 403
        metrics = httpx.get(f"{base}/metrics").text
        assert 'huntwatch_ingested_events_total{tenant="acme"} 1.0' in metrics
        deadline = time.monotonic() + 60  # the worker hunts, correlates and ranks the new data on its schedule
        while "huntwatch_worker_cycles 0.0" in metrics or "huntwatch_worker_cycles" not in metrics:
            assert time.monotonic() < deadline, metrics
            time.sleep(0.5)
            metrics = httpx.get(f"{base}/metrics").text
        assert "huntwatch_worker_last_cycle_errors 0.0" in metrics
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
