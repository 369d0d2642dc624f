"""The overview's "needs attention": attempts waiting for a review, in error, ready to resume,
stuck in setup or running past their end, and the course's undelivered notifications (late
or dead), each with its action; statuses as badges with words."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import EmailMessage, ProviderEvent, utcnow
from proctor_web.services import dead_letters
from tests.conftest import SAME_SITE_FORM
from tests.instructor.conftest import page_url


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def attention(client, course_id: str) -> str:
    html = client.get(page_url(course_id)).get_data(as_text=True)
    return html.split('id="attention-h"')[1].split('id="exams-h"')[0]


def test_each_reason_is_listed_with_its_action(dash, factory, login_as, client):
    clock = utcnow()
    review = factory.attempt(dash.proctored, factory.learner(username="unsure"),
                             "second_review_required", started_minutes_ago=90)
    comeback = factory.attempt(dash.timed, factory.learner(username="comeback"), "error",
                               started_minutes_ago=20, ready_to_resume=True)
    setup = factory.attempt(dash.proctored, factory.learner(username="slowstarter"),
                            "download_software_clicked")
    setup.modified = clock - timedelta(hours=5)
    db.session.commit()
    login_as(dash.staff)
    html = attention(client, dash.course_id)
    text = plain(html)
    # Most urgent first: the review, then the error, then setup, then ready to resume.
    assert text.index("unsure") < text.index("learner2") < text.index("slowstarter") \
        < text.index("comeback")
    assert "a person must verify or reject it" in text
    assert "Stuck in setup" in text
    assert "Allowed to resume; the learner has not come back yet." in text
    detail = page_url(dash.course_id, f"attempts/{review.id}")
    assert f'href="{detail}/review">Review unsure\'s attempt' in html
    resume = page_url(dash.course_id, f"attempts/{dash.errored.id}/resume")
    assert f'href="{resume}">Let learner2 resume' in html
    assert page_url(dash.course_id, f"attempts/{comeback.id}") in html
    assert page_url(dash.course_id, f"attempts/{setup.id}") in html
    # The submitted proctored attempt waits for the provider, with a link to the list.
    assert "1 submitted proctored attempt is waiting for the provider's review." in html
    assert "attempts?status=submitted" in html


def test_statuses_are_badges_with_words(dash, login_as, client):
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id)).get_data(as_text=True)
    assert '<span class="status badge tone-bad status-error">Error</span>' in html
    assert '<span class="status badge tone-info status-submitted">Submitted</span>' in html


def test_nothing_to_do_says_so(dash, login_as, client):
    dash.errored.resumed = True
    dash.submitted.status = "verified"
    db.session.commit()
    login_as(dash.staff)
    assert "Nothing needs you now" in attention(client, dash.course_id)


def _email(dash, attempt, status: str, due_minutes_ago: int) -> EmailMessage:
    row = EmailMessage(template="attempt_submitted", recipient="l@example.com",
                       user_id=attempt.user_id, attempt_id=attempt.id, subject="s",
                       html_body="h", text_body="t", status=status, tries=1,
                       next_attempt_at=utcnow() - timedelta(minutes=due_minutes_ago))
    db.session.add(row)
    return row


def test_late_and_dead_notifications_are_counted_per_course(dash, login_as, client):
    _email(dash, dash.submitted, "pending", 30)  # late
    _email(dash, dash.submitted, "pending", 1)  # due a minute ago: not late yet
    _email(dash, dash.submitted, "dead", 60)
    db.session.add(ProviderEvent(
        backend="mock", kind="stop", attempt_id=dash.submitted.id,
        attempt_code=dash.submitted.attempt_code, attempt_external_id="ext-9", status="pending",
        tries=3, next_attempt_at=utcnow() - timedelta(hours=2)))
    _email(dash, dash.other_attempt, "pending", 30)  # another course's
    db.session.commit()
    counted = dead_letters.count_undelivered(dash.course_id, utcnow())
    assert (counted.dead, counted.overdue) == (1, 2)
    login_as(dash.staff)
    text = plain(attention(client, dash.course_id))
    assert "1 provider notification or email of this course could not be delivered" in text
    assert "2 provider notifications or emails of this course are late" in text
    assert "Send them again now" in text


def test_sending_again_hands_late_rows_over_with_a_fresh_due_time(dash, login_as, client):
    late = _email(dash, dash.submitted, "pending", 30)
    theirs = _email(dash, dash.other_attempt, "pending", 30)
    db.session.commit()
    late_id, their_id = late.id, theirs.id
    before = utcnow()
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, "outbox/retry"), headers=SAME_SITE_FORM)
    assert answer.status_code == 302
    rows = {row.id: row for row in db.session.execute(
        select(EmailMessage).execution_options(populate_existing=True)).scalars()}
    # Handed over (and then delivered or rescheduled by the sync worker): no longer late.
    assert rows[late_id].status != "pending" or rows[late_id].next_attempt_at.replace(
        tzinfo=None) >= before.replace(tzinfo=None) - timedelta(seconds=1)
    assert rows[their_id].status == "pending"
    assert rows[their_id].next_attempt_at.replace(tzinfo=None) < (
        before - timedelta(minutes=20)).replace(tzinfo=None)


def test_only_course_staff_see_and_send(dash, login_as, client):
    _email(dash, dash.submitted, "pending", 30)
    db.session.commit()
    login_as(dash.other_staff)
    assert client.get(page_url(dash.course_id)).status_code == 403
    assert client.post(page_url(dash.course_id, "outbox/retry"),
                       headers=SAME_SITE_FORM).status_code == 403
