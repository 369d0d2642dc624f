"""Outbox delivery holds no transaction across network calls, yet delivers each row once
and in order, with several deliverers at once (after-commit deliveries and the sweep)."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from proctor_web import create_app
from proctor_web.backends.base import ProviderUnavailable
from proctor_web.backends.mock import MockBackend
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, EmailMessage, ProviderEvent, utcnow
from proctor_web.services import outbox
from tests.conftest import app_config, app_on_own_database


@pytest.fixture
def committed_app(db_backend, postgres_available, tmp_path) -> Iterator:
    """An app on its own database, where delivery's commits are real commits."""
    with app_on_own_database(db_backend, tmp_path, "proctor_outbox", postgres_available) as app:
        yield app


def _event(app, kind: str, attempt: str, now) -> int:
    with app.app_context():
        row = ProviderEvent(backend="mock", kind=kind, attempt_code=f"code-{attempt}",
                            attempt_external_id=attempt, status=DeliveryStatus.PENDING.value,
                            tries=0, next_attempt_at=now, created_at=now)
        db.session.add(row)
        db.session.commit()
        return row.id


class SlowProvider:
    """Records what the mock provider is told, taking its time like a real one."""

    def __init__(self, monkeypatch, delay: float = 0.2) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_next: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        for kind, method in (("start", "start_exam_attempt"), ("stop", "stop_exam_attempt")):
            monkeypatch.setattr(MockBackend, method, self._recorder(kind, delay))

    def _recorder(self, kind: str, delay: float):  # noqa: ANN202
        def record(backend, exam_external_id, attempt_external_id):  # noqa: ANN001, ANN202
            time.sleep(delay)
            with self.lock:
                if (kind, attempt_external_id) in self.fail_next:
                    self.fail_next.discard((kind, attempt_external_id))
                    raise ProviderUnavailable("provider down for a moment")
                self.calls.append((kind, attempt_external_id))

        return record


def test_two_deliverers_at_once_deliver_each_event_once_and_in_order(committed_app,
                                                                     monkeypatch):
    app = committed_app
    provider = SlowProvider(monkeypatch)
    now = utcnow()
    for attempt in ("a1", "a2", "a3"):
        _event(app, "start", attempt, now)
        _event(app, "stop", attempt, now)

    delivered: list[int] = []
    barrier = threading.Barrier(2, timeout=10)

    def deliverer() -> None:
        with app.app_context():
            barrier.wait()
            delivered.append(outbox.deliver_pending(utcnow()))
            db.session.remove()

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(delivered) == 6
    assert sorted(provider.calls) == sorted(
        (kind, a) for a in ("a1", "a2", "a3") for kind in ("start", "stop"))
    for attempt in ("a1", "a2", "a3"):
        mine = [kind for kind, a in provider.calls if a == attempt]
        assert mine == ["start", "stop"]
    with app.app_context():
        rows = db.session.execute(select(ProviderEvent)).scalars().all()
        assert {(r.status, r.tries) for r in rows} == {(DeliveryStatus.DELIVERED.value, 1)}


def test_a_failed_event_holds_back_the_later_events_of_its_attempt(committed_app,
                                                                   monkeypatch):
    app = committed_app
    provider = SlowProvider(monkeypatch, delay=0)
    provider.fail_next.add(("start", "a1"))
    now = utcnow()
    start = _event(app, "start", "a1", now)
    stop = _event(app, "stop", "a1", now)
    other = _event(app, "start", "a2", now)

    with app.app_context():
        assert outbox.deliver_pending(now) == 1  # only a2's start
        rows = {r.id: r for r in db.session.execute(select(ProviderEvent)).scalars()}
        assert rows[start].status == "pending" and rows[start].tries == 1
        assert rows[start].next_attempt_at == now + timedelta(seconds=30)
        assert rows[stop].status == "pending" and rows[stop].tries == 0
        assert rows[stop].next_attempt_at == now  # handed back, not leased
        assert rows[other].status == "delivered"
        db.session.commit()

        later = now + timedelta(seconds=31)
        assert outbox.deliver_pending(later) == 2
    assert provider.calls == [("start", "a2"), ("start", "a1"), ("stop", "a1")]


def test_no_write_lock_is_held_while_the_smtp_server_is_called(tmp_path):
    """Another writer commits while the SMTP server is busy with our message; our outcome
    is still recorded. (Holding a transaction across the call would lock it out on SQLite,
    or make the outcome's write fail once it committed.)"""
    path = tmp_path / "smtp.sqlite3"
    app = create_app(app_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
    other_writes: list[str] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN202, N802
            with sqlite3.connect(path, timeout=0, isolation_level=None) as other:
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("UPDATE email_outbox SET last_error = 'seen by another writer'"
                                  " WHERE id = -1")
                    other.execute("COMMIT")
                    other_writes.append("committed")
                except sqlite3.OperationalError as error:
                    other_writes.append(str(error))
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port, ready_timeout=5)
    smtp.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT_SECONDS=5)
        now = utcnow()
        with app.app_context():
            message = EmailMessage(template="attempt_verified", recipient="l@example.org",
                                   subject="s", html_body="<p>h</p>", text_body="h",
                                   status="pending", tries=0, next_attempt_at=now,
                                   created_at=now)
            db.session.add(message)
            db.session.commit()
            assert outbox.send_pending(now) == 1
            stored = db.session.get(EmailMessage, message.id)
            assert (stored.status, stored.tries) == ("delivered", 1)
    finally:
        smtp.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert other_writes == ["committed"]


def test_an_event_held_back_by_one_in_flight_goes_as_soon_as_that_one_is_delivered(
    committed_app, monkeypatch
):
    """A learner's "stop" is committed while "start" is still being sent: the after-commit
    delivery of "stop" finds it held back. It must follow "start", not wait for the sweep."""
    app = committed_app
    provider = SlowProvider(monkeypatch, delay=0.5)
    now = utcnow()
    start = _event(app, "start", "a1", now)
    sending_start = threading.Thread(
        target=lambda: _deliver(app, [start], now), name="start-delivery")
    sending_start.start()
    time.sleep(0.2)  # "start" is leased and at the provider
    stop = _event(app, "stop", "a1", utcnow())  # queued after the start's delivery began
    assert _deliver(app, [stop]) == 0  # held back behind the start in flight
    sending_start.join(timeout=10)
    assert provider.calls == [("start", "a1"), ("stop", "a1")]
    with app.app_context():
        statuses = db.session.execute(select(ProviderEvent.status).order_by(ProviderEvent.id))
        assert list(statuses.scalars()) == ["delivered", "delivered"]


def _deliver(app, ids: list[int], now=None) -> int:
    with app.app_context():
        return outbox.deliver_pending(now or utcnow(), ids=ids)
