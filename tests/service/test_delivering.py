from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from huntwatch.delivery import verify_signature
from huntwatch.service import InvalidInput, NotFound, PermissionDenied, delivering, publishing
from huntwatch.service.testing import enroll
from huntwatch.state import DeliverySetting

SECRET = "s3cret-signing-key-0123"


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    """A real webhook receiver on 127.0.0.1 that verifies signatures; fails the first ``fail`` requests."""
    state = {"fail": 0, "got": [], "bad_signature": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verify_signature(
                SECRET, self.headers["X-Huntwatch-Timestamp"], body, self.headers["X-Huntwatch-Signature"]
            )
            if not ok:
                state["bad_signature"] += 1
            if state["fail"] > 0:
                state["fail"] -= 1
                self.send_response(500)
            else:
                state["got"].append(json.loads(body))
                self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def test_settings_keep_secrets_sealed_and_masked(world, receiver):
    admin = world.actors["a_admin"]
    with world.db.session() as s:
        with pytest.raises(InvalidInput):
            delivering.save_setting(s, admin, world.a, "webhook", {"url": "ftp://x", "secret": SECRET})
        with pytest.raises(PermissionDenied):
            delivering.save_setting(s, world.actors["a_analyst"], world.a, "webhook", {"url": receiver["url"]})
        row = delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"], "secret": SECRET})
        stored = s.get(DeliverySetting, row.id)
        assert SECRET not in json.dumps(stored.config) and SECRET not in (stored.secret_encrypted or "")
        assert delivering.shown_config(stored) == {"url": receiver["url"], "secret": "***"}
        # update without re-entering the secret keeps it
        delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"] + "2", "secret": "***"},
                                setting_id=row.id)  # fmt: skip
        with pytest.raises(NotFound):
            delivering.save_setting(
                s, world.actors["b_admin"], world.b, "webhook", {"url": "http://x"}, setting_id=row.id
            )
    with world.db.session() as s:
        assert delivering.shown_config(s.get(DeliverySetting, row.id))["url"].endswith("/hook2")


def test_published_alert_is_delivered_and_logged(world, receiver):
    admin = world.actors["a_admin"]
    with world.db.session() as s:
        delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"], "secret": SECRET})
        delivering.add_contact(s, admin, world.a, "backup", "Bea Backup", "bea@a.test")
        delivering.add_contact(s, admin, world.a, "primary", "Pat Primary", "pat@a.test", "+1 555")
        assert [c.priority for c in delivering.list_contacts(s, world.actors["a_reader"], world.a)] == [
            "primary",
            "backup",
        ]
    enroll(world, world.a)
    with world.db.session() as s:
        alert_id = publishing.publish(s, world.actors["expert"], world.story).id
    receiver["fail"] = 1  # the receiver errs once: delivered on the retry
    logs = delivering.deliver_alert(world.db, alert_id, backoff=lambda n: 0.0)
    assert [(x.status, x.attempts) for x in logs] == [("delivered", 2)]
    assert receiver["bad_signature"] == 0
    payload = receiver["got"][0]
    assert payload["data"]["finding"]["class_uid"] == 2004 and payload["data"]["alert_id"] == alert_id
    assert payload["kind"] == "notification" and payload["tenant"] == "tenant-a"
    with world.db.session() as s:
        log = delivering.list_log(s, admin, world.a)
        assert [(x.alert_id, x.channel, x.status) for x in log] == [(alert_id, "webhook", "delivered")]
        with pytest.raises(NotFound):
            delivering.list_log(s, world.actors["b_admin"], world.a)


def test_dead_letter_after_n_tries_and_sample_notification(world, receiver):
    admin = world.actors["a_admin"]
    with world.db.session() as s:
        delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"], "secret": SECRET})
        sample = publishing.generate_sample(s, admin, world.a)
    receiver["fail"] = 10
    logs = delivering.deliver_alert(world.db, sample.id, attempts=3, backoff=lambda n: 0.0)
    assert [(x.status, x.attempts) for x in logs] == [("dead_letter", 3)]
    receiver["fail"] = 0
    logs = delivering.deliver_alert(world.db, sample.id, backoff=lambda n: 0.0)  # samples need no enrollment
    assert logs[0].status == "delivered" and receiver["got"][-1]["kind"] == "sample"


def test_every_channel_kind_receives_the_notification(world, receiver):
    """Webhook, e-mail (a real SMTP server) and CEF syslog (a real UDP listener), all from tenant settings."""
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            self.messages.append(envelope.content)
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    admin = world.actors["a_admin"]
    try:
        with world.db.session() as s:
            delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"], "secret": SECRET})
            delivering.save_setting(s, admin, world.a, "email", {
                "host": "127.0.0.1", "port": smtp_port,
                "sender": "huntwatch@provider.test", "recipients": ["soc@a.test"]})  # fmt: skip
            delivering.save_setting(s, admin, world.a, "syslog",
                                    {"host": "127.0.0.1", "port": udp.getsockname()[1], "protocol": "udp"})  # fmt: skip
            delivering.save_setting(s, admin, world.a, "webhook", {"url": receiver["url"], "secret": SECRET},
                                    enabled=False)  # fmt: skip
        enroll(world, world.a)
        with world.db.session() as s:
            alert_id = publishing.publish(
                s, world.actors["expert"], world.story, {"title": "<b>Attack</b> on ws001"}
            ).id
        logs = delivering.deliver_alert(world.db, alert_id, backoff=lambda n: 0.0)
        assert sorted((x.channel, x.status) for x in logs) == [
            ("email", "delivered"), ("syslog", "delivered"), ("webhook", "delivered")]  # fmt: skip
        datagram = udp.recv(65535).decode()
        assert "CEF:0|Huntwatch" in datagram and "Attack" in datagram
        mail = inbox.messages[0].decode(errors="replace")
        assert "soc@a.test" in mail and "&lt;b&gt;Attack&lt;/b&gt;" in mail  # the HTML part escapes the title
        assert len(receiver["got"]) == 1  # the disabled webhook sent nothing
    finally:
        smtp.stop()
        udp.close()
