"""The REST backend against the fake provider running as a real process on 127.0.0.1.

proctor_web is served for real too (werkzeug on a thread, its own SQLite file), so the
provider's ``ready`` and ``reviewed`` callbacks reach it over HTTP with OAuth tokens, and
status emails go to a real SMTP server on loopback.
"""

from __future__ import annotations

import email
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from flask import Flask, has_app_context
from sqlalchemy import func, select
from werkzeug.serving import make_server

from proctor_web import create_app
from proctor_web.backends.base import RegistrationFailed
from proctor_web.extensions import db
from proctor_web.models import Attempt, EmailMessage, Exam, ProviderEvent, Review, User, utcnow
from proctor_web.services import (
    attempts,
    courses,
    exam_sync,
    exams,
    oauth,
    outbox,
    registration,
)
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.obscured_ids import obscured_user_id
from proctor_web.testing.loopback import fake_provider, wait_for

PROVIDER_CLIENT_SECRET = "fake-client-secret-0123456789-0123456789"
LMS_CLIENT_SECRET = "fake-provider-secret-0123456789-0123"
COURSE = "course-v1:FakeX+E2E+2026"


@pytest.fixture(scope="module")
def provider_url() -> Iterator[str]:
    with fake_provider(PROVIDER_CLIENT_SECRET, LMS_CLIENT_SECRET,
                       ["--ready-delay", "0.05", "--review-delay", "0.05"]) as port:
        yield f"http://127.0.0.1:{port}"


def end_read() -> None:
    """End this thread's transaction: SQLite readers would otherwise block (or, in WAL mode,
    not see) the server thread's writes from the callbacks we are about to trigger."""
    if has_app_context():
        db.session.commit()


def control(provider_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    end_read()
    response = requests.post(f"{provider_url}/_control/{path}", json=body or {}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def pending_emails() -> int:
    end_read()
    return db.session.execute(
        select(func.count()).select_from(EmailMessage).where(EmailMessage.status == "pending")
    ).scalar_one()


def provider_state(provider_url: str) -> dict[str, Any]:
    return requests.get(f"{provider_url}/_control/state", timeout=10).json()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Live:
    app: Flask
    url: str
    provider_url: str
    inbox: Inbox
    exam_id: int
    learner_id: int

    def exam(self) -> Exam:
        return db.session.get(Exam, self.exam_id)

    def learner(self) -> User:
        return db.session.get(User, self.learner_id)

    def attempt(self, attempt_id: int) -> Attempt:
        end_read()
        # A fresh read: the caller sees the status as the server last committed it. (The
        # server may commit again at any moment, so reading twice may give two statuses.)
        attempt = db.session.get(Attempt, attempt_id)
        attempt.status  # noqa: B018  (load it now)
        return attempt


@pytest.fixture
def live(provider_url: str, tmp_path: Path) -> Iterator[Live]:
    control(provider_url, "reset")
    database = tmp_path / "live.sqlite3"
    with closing(sqlite3.connect(database)) as connection:  # readers never block the writer
        connection.execute("PRAGMA journal_mode=WAL")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port(), ready_timeout=5)
    smtp.start()
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "e2e-secret-key-0123456789",
        # Delivery in this process after each response: a background thread would outlive
        # the test and touch the next test's database session.
        "BACKGROUND_MODE": "sync",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        "BACKENDS": {
            "DEFAULT": "rest",
            "rest": {"base_url": provider_url, "client_id": "fake-client",
                     "client_secret": PROVIDER_CLIENT_SECRET, "timeout_seconds": 1},
            "null": {},
        },
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_TIMEOUT_SECONDS": 5,
        # Errors inside the server thread must become responses, not crash the thread.
        "PROPAGATE_UNEXPECTED": False,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url  # what registrations tell the provider to call back
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    context = app.app_context()
    context.push()
    try:
        db.create_all()
        now = utcnow()
        oauth.create_client("fake provider", "rest", now, client_id="fake-provider",
                            client_secret=LMS_CLIENT_SECRET)
        courses.ensure_course(COURSE, now, "E2E Course")
        learner = courses.create_user("lena", "lena-password-1", now,
                                      email="lena@example.org", full_name="Lena Learner")
        courses.enroll(learner, COURSE, now)
        exam = exams.create_exam(COURSE, "final", {
            "exam_name": "Final Exam", "time_limit_mins": 60, "is_proctored": True,
            "backend": "rest"}, None, now)
        db.session.commit()
        # Background work pushes a saved exam after commit; outside a request, as here, the
        # sweep's part does it.
        assert exam_sync.sync_exams(now) == (1, 0)
        yield Live(app, url, provider_url, inbox, exam.id, learner.id)
    finally:
        db.session.remove()
        context.pop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        smtp.stop()
        with app.app_context():
            db.engine.dispose()


def _create_attempt(live: Live) -> Attempt:
    learner = live.learner()
    attempt = attempts.create_attempt(live.exam(), learner, Actor.learner(learner), utcnow(),
                                      taking_as_proctored=True)
    db.session.commit()
    registration.register_pending()  # what the learner's view does after its commit
    return live.attempt(attempt.id)


def _ready_and_start(live: Live, attempt: Attempt) -> None:
    result = control(live.provider_url, f"attempt/{attempt.external_id}/ready")
    assert result["delivered"] is True, result
    assert live.attempt(attempt.id).status == "ready_to_start"
    learner = live.learner()
    attempts.apply_action(live.attempt(attempt.id), Action.START, Actor.learner(learner),
                          utcnow())
    db.session.commit()
    assert outbox.deliver_pending(utcnow()) == 1
    db.session.commit()


def _submit(live: Live, attempt: Attempt) -> None:
    attempts.apply_action(live.attempt(attempt.id), Action.SUBMIT, Actor.learner(live.learner()),
                          utcnow())
    db.session.commit()
    assert outbox.deliver_pending(utcnow()) == 1  # the PATCH submitted schedules review
    db.session.commit()


@pytest.mark.parametrize(("outcome", "final_status", "stored"), [
    ("passed", "verified", "Clean"),
    ("suspicious", "second_review_required", "Suspicious"),
    ("not_reviewed", "error", "Not Reviewed"),
])
def test_proctored_exam_from_registration_to_review(live, outcome, final_status, stored):
    exam = live.exam()
    assert exam.external_id, "the exam was pushed to the provider when it was created"
    assert provider_state(live.provider_url)["exams"][exam.external_id]["exam_name"] == (
        "Final Exam")
    control(live.provider_url, "config", {"REVIEW_OUTCOME": outcome})

    attempt = _create_attempt(live)
    registered = provider_state(live.provider_url)["attempts"][attempt.external_id]
    assert registered["lms_host"] == live.url
    assert registered["user_id"] == obscured_user_id(live.learner_id, "rest")
    assert registered["email"] == "lena@example.org"

    _ready_and_start(live, attempt)
    assert provider_state(live.provider_url)["attempts"][attempt.external_id]["status"] == (
        "started")
    _submit(live, attempt)

    reviewed = wait_for(lambda: (a := live.attempt(attempt.id)).status == final_status and a)
    assert reviewed.status == final_status
    end_read()
    review = db.session.execute(select(Review)).scalar_one()
    assert review.review_status == stored and review.attempt_code == attempt.attempt_code
    # The provider logs its callback once our answer reaches it, a moment after our commit.
    log = wait_for(lambda: (entries := provider_state(live.provider_url)["callback_log"])
                   and len(entries) == 2 and entries)
    assert [(e["kind"], e["status_code"]) for e in log] == [("ready", 200), ("reviewed", 200)]

    if outcome == "passed":
        # Queued by the reviewed callback and sent by the server right after its commit.
        (verified,) = wait_for(lambda: live.inbox.messages)
        assert verified["X-Proctor-Template"] == "attempt_verified"
        assert verified["X-Envelope-To"] == "lena@example.org"
        assert "Final Exam" in verified.get_payload()[1].get_payload(decode=True).decode()
    # The submitted email was queued here, outside a request: the sweep sends it. Wait
    # until the server has committed its own deliveries first: on SQLite a sweep that read
    # before that commit could not write afterwards.
    wait_for(lambda: pending_emails() == 1)
    result = live.app.test_cli_runner().invoke(args=["proctor", "sweep"])
    assert "Sent 1 email(s)." in result.output, result.output
    templates = sorted(m["X-Proctor-Template"] for m in live.inbox.messages)
    assert templates == sorted(
        ["attempt_submitted"] + (["attempt_verified"] if outcome == "passed" else []))


def _backoff_passed() -> None:
    event = db.session.execute(select(ProviderEvent)).scalar_one()
    event.next_attempt_at = utcnow() - timedelta(seconds=1)  # as if the backoff had passed
    db.session.commit()


def test_provider_outage_loses_no_event(live):
    attempt = _create_attempt(live)
    control(live.provider_url, f"attempt/{attempt.external_id}/ready")

    for mode in ("error500", "hang"):
        control(live.provider_url, "config", {"FAIL_MODE": mode, "HANG_SECONDS": 3})
        if mode == "error500":
            attempts.apply_action(live.attempt(attempt.id), Action.START,
                                  Actor.learner(live.learner()), utcnow())
            db.session.commit()
        else:
            _backoff_passed()
        now = utcnow()
        assert outbox.deliver_pending(now) == 0
        db.session.commit()
        event = db.session.execute(select(ProviderEvent)).scalar_one()
        assert event.status == "pending" and event.kind == "start"
        assert ("500" if mode == "error500" else "no answer") in event.last_error
        assert event.next_attempt_at > now  # backing off
        # Still down, and not due: the sweep leaves it alone.
        assert outbox.deliver_pending(now) == 0

    control(live.provider_url, "config", {"FAIL_MODE": None})
    attempt_state = provider_state(live.provider_url)["attempts"][attempt.external_id]
    assert attempt_state["status"] == "ready"  # the provider never heard of the start

    _backoff_passed()
    result = live.app.test_cli_runner().invoke(args=["proctor", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Delivered 1 provider event(s)." in result.output
    db.session.expire_all()
    event = db.session.execute(select(ProviderEvent)).scalar_one()
    assert event.status == "delivered" and event.tries == 3
    assert provider_state(live.provider_url)["attempts"][attempt.external_id]["status"] == (
        "started")


def test_registration_during_an_outage_saves_nothing_and_can_be_retried(live):
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    learner = live.learner()
    attempts.create_attempt(live.exam(), learner, Actor.learner(learner), utcnow(),
                            taking_as_proctored=True)
    db.session.commit()
    with pytest.raises(RegistrationFailed, match="try again"):
        registration.register_pending()
    assert db.session.execute(select(Attempt)).first() is None

    control(live.provider_url, "config", {"FAIL_MODE": None})
    attempt = _create_attempt(live)
    assert attempt.external_id in provider_state(live.provider_url)["attempts"]


def test_exam_saved_during_an_outage_is_pushed_by_the_sweep(live):
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    exam = exams.create_exam(COURSE, "midterm", {
        "exam_name": "Midterm", "time_limit_mins": 30, "is_proctored": True,
        "backend": "rest"}, None, utcnow())
    db.session.commit()
    assert exam.external_id is None  # the save itself did not fail

    pushed, failed = exam_sync.sync_exams(utcnow())  # still down
    assert pushed == 0 and failed >= 1
    db.session.commit()
    control(live.provider_url, "config", {"FAIL_MODE": None})
    pushed, failed = exam_sync.sync_exams(utcnow())
    db.session.commit()
    assert failed == 0 and pushed >= 1
    assert db.session.get(Exam, exam.id).external_id in provider_state(live.provider_url)["exams"]
    # Nothing changed since: the next sweep pushes nothing.
    assert exam_sync.sync_exams(utcnow()) == (0, 0)


def test_callbacks_need_a_token_for_the_attempts_backend(live):
    attempt = _create_attempt(live)
    url = f"{live.url}/api/edx_proctoring/v1/proctored_exam/attempt/{attempt.external_id}/ready"
    assert requests.post(url, json={"status": "ready"}, timeout=10).status_code == 401
    oauth.create_client("someone else", "null", utcnow(), client_id="other",
                        client_secret="other-secret-0123456789")
    db.session.commit()
    token = requests.post(f"{live.url}/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "other",
        "client_secret": "other-secret-0123456789"}, timeout=10).json()["access_token"]
    refused = requests.post(url, json={"status": "ready"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert live.attempt(attempt.id).status == "created"
    assert db.session.execute(select(EmailMessage)).first() is None
