"""A real uvicorn server on a free 127.0.0.1 port over the hostile world, and one Chromium for the session."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI") == "true":
            raise RuntimeError("chromium is required in CI")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    import uvicorn
    from argon2 import PasswordHasher

    from huntwatch.config import settings
    from huntwatch.service import accounts
    from huntwatch.state import Database
    from huntwatch.state.testing import database_url
    from huntwatch.web.app import create_app
    from tests.web.pages.world import build

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    with database_url("sqlite", tmp_path, migrated=True) as url:
        db = Database(url)
        world = build(db, settings().lake_path)
        port = _free_port()
        config = uvicorn.Config(create_app(settings(), db=db, upgrade=False), host="127.0.0.1", port=port,
                                log_level="warning", lifespan="off")  # fmt: skip
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not srv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.started, "uvicorn did not start"
        try:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}", world=world)
        finally:
            srv.should_exit = True
            thread.join(10)
            db.engine.dispose()


def sign_in(page, base: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def check_and_capture(page, name: str, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Nothing attacker-written ran: no dialog, only our own script element, no injected image or handler.
    Then a screenshot of the page for people to look at."""
    assert dialogs == [], f"{name}: a dialog fired: {dialogs}"
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert (
        page.evaluate("document.querySelectorAll('img[src=x], [onerror], [onload], a[href^=javascript]').length") == 0
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
