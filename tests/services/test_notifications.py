"""Status emails and review alerts, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, utcnow
from proctor_web.services import attempts, notifications
from proctor_web.services.attempts import Action, Actor


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port(app, monkeypatch) -> int:
    port = _free_port()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT_SECONDS", 5)
    return port


@pytest.fixture
def inbox(smtp_port) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port, ready_timeout=5)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no HTML part")


def _submitted_attempt(factory, exam=None):
    learner = factory.learner(email="learner@example.org", full_name="Lea Learner")
    exam = exam or factory.exam("proctored", exam_name="Chemistry Final")
    return factory.attempt(exam, learner, "submitted", external_id="e1", started_minutes_ago=5)


def test_verified_email_reaches_the_learner(app, factory, now, inbox):
    attempt = _submitted_attempt(factory)
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    (queued,) = db.session.execute(select(EmailMessage)).scalars().all()
    assert queued.template == "attempt_verified" and queued.status == "pending"

    assert notifications.send_pending(now) == 1

    (mail_from, recipients, message) = inbox.messages[0]
    assert recipients == ["learner@example.org"]
    assert mail_from == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Subject"] == "Your proctored exam was verified"
    assert message["X-Proctor-Template"] == "attempt_verified"
    html = _html(message)
    assert "Chemistry Final" in html and "Lea Learner" in html
    assert queued.status == "delivered" and queued.sent_at == now


def test_submitted_and_rejected_emails(factory, now, inbox):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "started",
                              external_id="e2", started_minutes_ago=5)
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    attempts.apply_action(attempt, Action.REJECT, Actor.provider("mock"), now)
    notifications.send_pending(now)
    assert [m["X-Proctor-Template"] for _, _, m in inbox.messages] == [
        "attempt_submitted", "attempt_rejected"]


def test_no_email_for_practice_or_unproctored_attempts(factory, now):
    practice = factory.attempt(factory.exam("onboarding"), factory.learner(), "submitted")
    attempts.apply_action(practice, Action.VERIFY, Actor.provider("mock"), now)
    declined = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted",
                               taking_as_proctored=False)
    attempts.apply_action(declined, Action.VERIFY, Actor.provider("mock"), now)
    assert db.session.execute(select(EmailMessage)).first() is None


def test_backend_specific_template_wins(app, factory, now, inbox, monkeypatch):
    override = DictLoader({
        "emails/mock/attempt_verified.html": "<p>Mock says well done on {{ exam_name }}.</p>"})
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([override, app.jinja_env.loader]))
    attempt = _submitted_attempt(factory)
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    notifications.send_pending(now)
    assert "Mock says well done on Chemistry Final." in _html(inbox.messages[0][2])
    assert notifications.template_for("x", "mock") == ["emails/mock/x.html", "emails/x.html"]


def test_failed_send_is_kept_and_retried_by_the_sweep(app, factory, now, smtp_port):
    attempt = _submitted_attempt(factory)
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    # Nothing listens on the port yet: the send fails and the message waits.
    assert notifications.send_pending(now) == 0
    message = db.session.execute(select(EmailMessage)).scalar_one()
    assert message.status == "pending" and message.tries == 1
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at == now + timedelta(seconds=30)
    assert notifications.send_pending(now + timedelta(seconds=10)) == 0  # not due yet
    assert message.tries == 1

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ready_timeout=5)
    controller.start()
    try:
        message.next_attempt_at = utcnow() - timedelta(seconds=1)  # as if the backoff passed
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["proctor", "sweep"])
        assert result.exit_code == 0, result.output
        assert "Sent 1 email(s)." in result.output
    finally:
        controller.stop()
    assert [r for _, r, _ in inbox.messages] == [["learner@example.org"]]
    assert db.session.get(EmailMessage, message.id).status == "delivered"


class TestResumedExamEmails:
    """A resumed exam has several attempts; only the part that decides the result mails."""

    @staticmethod
    def _parts(factory, *statuses, resumed_first=True):
        learner = factory.learner()
        exam = factory.exam("proctored")
        rows = []
        for index, status in enumerate(statuses):
            rows.append(factory.attempt(exam, learner, status,
                                        resumed=resumed_first and index < len(statuses) - 1))
        return rows

    def test_single_attempt_always_mails(self, factory):
        (only,) = self._parts(factory, "submitted")
        assert notifications.outcome_is_final(only, "verified")

    def test_resumed_errored_part_does_not_count(self, factory):
        first, second = self._parts(factory, "error", "submitted")
        assert notifications.outcome_is_final(second, "verified")
        assert notifications.outcome_is_final(second, "rejected")

    def test_verified_waits_for_every_part(self, factory):
        first, second = self._parts(factory, "rejected", "submitted")
        assert not notifications.outcome_is_final(second, "verified")
        assert not notifications.outcome_is_final(second, "submitted")

    def test_only_the_first_rejection_mails(self, factory):
        first, second = self._parts(factory, "rejected", "submitted")
        assert not notifications.outcome_is_final(second, "rejected")

    def test_no_rejection_mail_after_a_decline(self, factory):
        first, second = self._parts(factory, "declined", "submitted")
        assert not notifications.outcome_is_final(second, "rejected")

    def test_no_email_queued_when_another_part_decides(self, factory, now):
        first, second = self._parts(factory, "rejected", "submitted")
        before = db.session.execute(select(EmailMessage)).scalars().all()
        assert notifications.queue_status_email(second, "verified", now) is None
        assert db.session.execute(select(EmailMessage)).scalars().all() == before


# Times in the recipient's zone ------------------------------------------------------------


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode().replace("\u202f", " ")
    raise AssertionError("no text part")


def _times_attempt(factory, time_zone: str | None):
    learner = factory.learner(email="tz@example.org", full_name="Tia")
    learner.time_zone = time_zone
    exam = factory.exam("proctored", exam_name="Geology",
                        due_date=datetime(2026, 12, 24, 17, 0, tzinfo=UTC))
    return learner, factory.attempt(exam, learner, "started", external_id="tz1",
                                    started_minutes_ago=30)


def test_submitted_email_shows_times_in_the_learners_zone_with_utc_beside(
        factory, now, inbox):
    learner, attempt = _times_attempt(factory, "America/Bogota")
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    notifications.send_pending(now)
    (_, _, message) = inbox.messages[0]
    html, text = _html(message).replace("\u202f", " "), _text(message)
    for body in (html, text):
        # ``now`` is 12:00 UTC on November 22: 7:00 in Bogota (UTC-5).
        assert "Submitted: November 22, 2026, 7:00 AM Colombia Time (12:00 UTC)" in body, body
        assert "Due date: December 24, 2026, 12:00 PM Colombia Time (17:00 UTC)" in body, body
        assert "All times are in UTC" not in body


def test_verified_email_says_when_the_exam_was_taken(factory, now, inbox):
    learner, attempt = _times_attempt(factory, "America/Bogota")
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"),
                          now + timedelta(days=1))
    notifications.send_pending(now + timedelta(days=1))
    verified = _text(inbox.messages[1][2])
    assert "Started: November 22, 2026, 6:30 AM Colombia Time (11:30 UTC)" in verified
    assert "Submitted: November 22, 2026, 7:00 AM Colombia Time (12:00 UTC)" in verified


def test_the_utc_day_is_named_when_it_is_not_the_local_one(factory, now, inbox):
    learner, attempt = _times_attempt(factory, "America/Bogota")
    late = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)  # still November 22 in Bogota
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), late)
    notifications.send_pending(late)
    assert ("Submitted: November 22, 2026, 9:15 PM Colombia Time (Nov 23, 02:15 UTC)"
            in _text(inbox.messages[0][2]))


@pytest.mark.parametrize("stored", [None, "UTC", "Mars/Olympus"])
def test_without_a_known_zone_times_are_in_utc_labelled(factory, now, inbox, stored):
    learner, attempt = _times_attempt(factory, stored)
    attempts.apply_action(attempt, Action.SUBMIT, Actor.learner(learner), now)
    notifications.send_pending(now)
    (_, _, message) = inbox.messages[0]
    for body in (_html(message).replace("\u202f", " "), _text(message)):
        assert "Submitted: November 22, 2026, 12:00:00 PM UTC" in body, body
        assert "Due date: December 24, 2026, 5:00:00 PM UTC" in body
        assert "All times are in UTC (Coordinated Universal Time)." in body
        assert "Colombia" not in body


def test_review_alert_shows_times_in_each_staff_members_zone(factory, now, inbox):
    course = factory.course(proctoring_escalation_email="desk@example.org")
    madrid = factory.course_staff(username="madrid")
    madrid.time_zone = "Europe/Madrid"
    factory.course_staff(username="nozone")
    exam = factory.exam("proctored", due_date=datetime(2026, 12, 24, 17, 0, tzinfo=UTC))
    notifications.queue_review_alert(exam, None, "suspicious", "http://proctor.test/r", now,
                                     submitted_at=now - timedelta(hours=1))
    notifications.send_pending(now)
    texts = {recipients[0]: _text(message) for _, recipients, message in inbox.messages}
    assert set(texts) == {"madrid@example.com", "nozone@example.com",
                          course.proctoring_escalation_email}
    assert "Submitted: November 22, 2026, 12:00 PM Spain (Madrid) Time (11:00 UTC)" in texts[
        "madrid@example.com"], texts["madrid@example.com"]
    assert "Due date: December 24, 2026, 6:00 PM Spain (Madrid) Time (17:00 UTC)" in texts[
        "madrid@example.com"]
    for utc_only in ("nozone@example.com", "desk@example.org"):
        assert "Submitted: November 22, 2026, 11:00:00 AM UTC" in texts[utc_only]
        assert "All times are in UTC" in texts[utc_only]
