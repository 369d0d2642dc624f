"""Dead letters on the instructor overview: a count and a retry button, for course staff and
only for their course's rows."""

from __future__ import annotations

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, ProviderEvent, utcnow
from tests.conftest import SAME_SITE_FORM
from tests.instructor.conftest import page_url


def _dead_rows(dash) -> tuple[int, int, int]:
    now = utcnow()
    ours = EmailMessage(template="attempt_submitted", recipient="l1@example.com",
                        user_id=dash.learner.id, attempt_id=dash.submitted.id, subject="s",
                        html_body="h", text_body="t", status="dead", tries=8,
                        next_attempt_at=now, last_error="SMTP down")
    our_event = ProviderEvent(backend="mock", kind="stop", attempt_id=dash.submitted.id,
                              attempt_code=dash.submitted.attempt_code,
                              attempt_external_id="ext-1", status="dead", tries=8,
                              next_attempt_at=now)
    theirs = EmailMessage(template="attempt_submitted", recipient="o@example.com",
                          user_id=dash.outsider.id, attempt_id=dash.other_attempt.id,
                          subject="s", html_body="h", text_body="t", status="dead", tries=8,
                          next_attempt_at=now)
    db.session.add_all([ours, our_event, theirs])
    db.session.commit()
    return ours.id, our_event.id, theirs.id


def test_overview_counts_the_course_dead_letters_and_staff_retry_them(
        dash, client, login_as):
    ours, our_event, theirs = _dead_rows(dash)
    login_as(dash.staff)
    page = client.get(page_url(dash.course_id)).get_data(as_text=True)
    assert "2 provider notifications or emails of this course" in page
    retried = client.post(page_url(dash.course_id, "outbox/retry"), headers=SAME_SITE_FORM)
    assert retried.status_code == 302
    statuses = dict(db.session.execute(select(EmailMessage.id, EmailMessage.status)).all())
    assert statuses[theirs] == "dead"  # another course's row is not touched
    assert statuses[ours] != "dead"
    event = db.session.get(ProviderEvent, our_event, populate_existing=True)
    assert event.status != "dead"
    assert "Undelivered notifications" not in client.get(page_url(dash.course_id)).get_data(
        as_text=True)


def test_only_course_staff_may_retry(dash, client, login_as):
    ours, _, theirs = _dead_rows(dash)
    for user in (dash.other_staff, dash.learner):
        login_as(user)
        refused = client.post(page_url(dash.course_id, "outbox/retry"), headers=SAME_SITE_FORM)
        assert refused.status_code == 403
    assert db.session.get(EmailMessage, ours, populate_existing=True).status == "dead"


def test_retry_needs_the_csrf_token(dash, client, login_as, app, monkeypatch):
    ours, _, _ = _dead_rows(dash)
    login_as(dash.staff)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = client.post(page_url(dash.course_id, "outbox/retry"), headers=SAME_SITE_FORM)
    assert refused.status_code == 400
    assert db.session.get(EmailMessage, ours, populate_existing=True).status == "dead"
