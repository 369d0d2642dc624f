"""Task bodies, dead letters, the embedded thread and the outbox command, on a real
database (commits are real) and a real SMTP server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, EmailMessage, utcnow
from proctor_web.services import dead_letters, outbox
from proctor_web.tasks import dispatch, jobs
from tests.conftest import app_config, scratch_database
from tests.tasks.helpers import Gate, Inbox, free_port, wait_for


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def make_app(db_backend, postgres_available, tmp_path) -> Iterator:
    """Apps on one scratch database of their own, so delivery's commits are real."""
    with scratch_database(db_backend, tmp_path, "proctor_tasks", postgres_available) as url:
        made = []

        def make(**overrides):
            app = create_app(app_config(url, **overrides))
            with app.app_context():
                db.create_all()
            made.append(app)
            return app

        yield make
        for app in made:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _email(app, recipient: str = "learner@example.com") -> int:
    with app.app_context():
        now = utcnow()
        row = EmailMessage(template="attempt_submitted", recipient=recipient, subject="Done",
                           html_body="<p>done</p>", text_body="done",
                           status=DeliveryStatus.PENDING.value, tries=0, next_attempt_at=now,
                           created_at=now)
        db.session.add(row)
        db.session.commit()
        return row.id


def _status(app, row_id: int) -> tuple[str, int]:
    with app.app_context():
        row = db.session.get(EmailMessage, row_id)
        return row.status, row.tries


def test_a_row_still_failing_after_max_tries_is_dead_until_retried(make_app):
    app = make_app(MAIL_PORT=free_port(), MAIL_TIMEOUT_SECONDS=1, OUTBOX_MAX_TRIES=2)
    row_id = _email(app)
    now = utcnow()
    with app.app_context():
        outbox.deliver_items([("email", row_id)], now)
    assert _status(app, row_id) == ("pending", 1)
    with app.app_context():
        outbox.deliver_items([("email", row_id)], now + timedelta(hours=2))
    assert _status(app, row_id) == ("dead", 2)
    with app.app_context():
        assert dead_letters.count_dead() == 1
        outbox.send_pending(now + timedelta(days=1))  # the sweep leaves dead letters alone
    assert _status(app, row_id) == ("dead", 2)
    with app.app_context():
        assert dead_letters.retry(now, kind="email", row_id=row_id) == [("email", row_id)]
        db.session.commit()
        assert dead_letters.count_dead() == 0
    assert _status(app, row_id) == ("pending", 0)


def test_a_delivery_task_run_twice_or_at_once_delivers_once(make_app, smtp):
    inbox, port = smtp
    app = make_app(MAIL_PORT=port)
    row_id = _email(app)

    def run() -> None:
        with app.app_context():
            jobs.deliver_row("email", row_id)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    run()  # a redelivered task, after the others finished
    assert len(inbox.messages) == 1
    assert _status(app, row_id) == ("delivered", 1)


def test_deliver_row_says_when_to_try_again(make_app):
    app = make_app(MAIL_PORT=free_port(), MAIL_TIMEOUT_SECONDS=1)
    row_id = _email(app)
    with app.app_context():
        due_in = jobs.deliver_row("email", row_id)
    assert due_in is not None and 25 < due_in <= 30  # the row's own backoff: 30 s
    with app.app_context():
        assert jobs.deliver_row("email", row_id) is not None  # not due: nothing sent, no try
    assert _status(app, row_id) == ("pending", 1)


def test_retry_delays_grow_exponentially_with_jitter():
    for retries in range(6):
        base = jobs.RETRY_BASE_SECONDS * 2 ** retries
        delays = [jobs.retry_delay(retries, 0.0) for _ in range(50)]
        assert all(base <= d <= base * 1.25 for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert jobs.retry_delay(0, 30.0) >= 30.0  # never before the row is due
    assert jobs.retry_delay(40, 0.0) <= jobs.RETRY_MAX_SECONDS * 1.25


def test_embedded_thread_delivers_after_the_response_while_smtp_hangs(make_app, smtp):
    inbox, port = smtp
    gate = Gate(port)
    try:
        app = make_app(BACKGROUND_MODE="thread", MAIL_PORT=gate.port, MAIL_TIMEOUT_SECONDS=10)
        ids: list[int] = []

        @app.post("/_test/queue-email")
        def queue_email():  # noqa: ANN202
            now = utcnow()
            row = EmailMessage(template="attempt_submitted", recipient="a@example.com",
                               subject="Queued", html_body="<p>x</p>", text_body="x",
                               status="pending", tries=0, next_attempt_at=now, created_at=now)
            db.session.add(row)
            db.session.flush()
            outbox.mark_for_delivery(db.session(), "email", row.id)
            db.session.commit()
            ids.append(row.id)
            return {"ok": True}

        client = app.test_client()
        for _ in range(2):
            started = time.monotonic()
            response = client.post("/_test/queue-email")
            response.close()  # what a WSGI server does once the body is sent
            assert response.status_code == 200
            assert time.monotonic() - started < 0.5  # the SMTP server hangs: not our problem
        wait_for(lambda: gate.held >= 1)  # the thread is stuck in SMTP, not the request
        assert inbox.messages == []
        gate.open()
        wait_for(lambda: len(inbox.messages) == 2)
        assert dispatch.embedded_worker(app).wait_idle(10)
        assert {_status(app, row_id)[0] for row_id in ids} == {"delivered"}
    finally:
        gate.close()


def test_outbox_command_lists_and_retries_dead_rows(make_app, smtp):
    inbox, port = smtp
    app = make_app(MAIL_PORT=port, OUTBOX_MAX_TRIES=1)
    row_id = _email(app)
    with app.app_context():
        row = db.session.get(EmailMessage, row_id)
        row.status, row.tries, row.last_error = "dead", 1, "ConnectionRefusedError: nope"
        db.session.commit()
    runner = app.test_cli_runner()

    def invoke(*args: str):
        with app.app_context():  # as ``flask`` gives the group's database check
            return runner.invoke(args=["proctor", "outbox", *args])

    listed = invoke()
    assert listed.exit_code == 0, listed.output
    assert "0 pending, 1 dead" in listed.output
    assert listed.output.splitlines()[1].split()[:4] == ["email", str(row_id), "dead",
                                                         "tries=1"]
    missing = invoke("--retry", "email:999999")
    assert missing.exit_code == 1 and "No dead outbox row" in missing.output
    retried = invoke("--retry-all-dead")
    assert retried.exit_code == 0, retried.output
    assert "Put 1 row(s) back" in retried.output
    assert len(inbox.messages) == 1
    assert _status(app, row_id) == ("delivered", 1)
    with app.app_context():
        assert db.session.execute(select(EmailMessage.status)).scalars().all() == ["delivered"]


def test_an_unreachable_broker_leaves_the_row_to_the_sweep(make_app, smtp):
    inbox, port = smtp
    app = make_app(BACKGROUND_MODE="celery", MAIL_PORT=port,
                   CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")

    @app.post("/_test/queue-email")
    def queue_email():  # noqa: ANN202
        now = utcnow()
        row = EmailMessage(template="attempt_submitted", recipient="b@example.com",
                           subject="Brokerless", html_body="<p>x</p>", text_body="x",
                           status="pending", tries=0, next_attempt_at=now, created_at=now)
        db.session.add(row)
        db.session.flush()
        outbox.mark_for_delivery(db.session(), "email", row.id)
        db.session.commit()
        return {"id": row.id}

    started = time.monotonic()
    response = app.test_client().post("/_test/queue-email")
    response.close()  # the hand-over to the broker happens here, and fails
    assert response.status_code == 200
    assert time.monotonic() - started < 0.5  # kombu retries connecting, but not here
    assert dispatch.background_thread(app, dispatch.CeleryPublisher).wait_idle(30)
    row_id = response.get_json()["id"]
    assert _status(app, row_id) == ("pending", 0)
    with app.app_context():
        report = jobs.run_sweep(utcnow())
    assert report.delivered["email"] == 1
    assert [m["Subject"] for m in inbox.messages] == ["Brokerless"]
