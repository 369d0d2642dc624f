"""Grade publishing over AGS, against the independent platform on 127.0.0.1 (real HTTP).

Scores are queued with the status change, delivered after commit or by the sweep, survive a
platform outage and arrive exactly once, in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.lti import grades
from proctor_web.models import (
    Attempt,
    Exam,
    LtiContext,
    LtiGradeSettings,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreOutbox,
    User,
    UserIdentity,
    utcnow,
)
from proctor_web.services import attempts, courses
from proctor_web.services.attempts import Action, Actor
from tests.conftest import make_sign_in
from tests.lti.platform_fixtures import control

COURSE_ID = "course-v1:lti+p1+c-1"
ALL_AGS = " ".join([grades.SCOPE_LINEITEM, grades.SCOPE_LINEITEM_READONLY,
                    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                    grades.SCOPE_SCORE])


@dataclass
class Graded:
    platform: LtiPlatform
    exam: Exam
    link: LtiResourceLink
    learner: User
    teacher: User
    settings: LtiGradeSettings


@pytest.fixture
def graded(app, lms, lms_platform: LtiPlatform, factory) -> Graded:
    now = utcnow()
    course = courses.ensure_course(COURSE_ID, now, display_name="Physics 101")
    course.lti_context_id = "c-1"
    context = LtiContext(platform_id=lms_platform.id, context_id="c-1", course_id=COURSE_ID,
                         title="Physics 101")
    db.session.add(context)
    db.session.flush()
    exam = factory.exam("proctored", course_id=COURSE_ID, exam_name="Final Exam")
    link = LtiResourceLink(
        platform_id=lms_platform.id, context_id=context.id, resource_link_id="rl-1",
        exam_id=exam.id, title="Final", ags_lineitems_url=f"{lms.url}/ags/c-1/lineitems",
        ags_scopes=ALL_AGS)
    db.session.add(link)
    learner = factory.learner(COURSE_ID, "ada")
    db.session.add(UserIdentity(user_id=learner.id, issuer=lms_platform.issuer, subject="u-ada"))
    teacher = factory.course_staff(COURSE_ID, "teacher")
    settings = grades.save_settings(exam, {"publish": "true", "score_verified": "90",
                                           "score_rejected": "10", "score_maximum": "100"}, now)
    db.session.flush()
    control(lms, "PUT", "contexts/c-1", {"members": [{"user_id": "u-ada"}]})
    return Graded(lms_platform, exam, link, learner, teacher, settings)


def _queued() -> list[dict[str, Any]]:
    rows = db.session.execute(select(LtiScoreOutbox).order_by(LtiScoreOutbox.id)).scalars()
    return [json.loads(row.payload) for row in rows]


def _recorded(lms) -> list[dict[str, Any]]:
    return control(lms, "GET", "scores")


@pytest.mark.parametrize(("status", "expected"), [
    ("submitted", {"activityProgress": "Submitted", "gradingProgress": "PendingManual"}),
    ("second_review_required", {"activityProgress": "Submitted",
                                "gradingProgress": "PendingManual"}),
    ("verified", {"activityProgress": "Completed", "gradingProgress": "FullyGraded",
                  "scoreGiven": 90, "scoreMaximum": 100}),
    ("rejected", {"activityProgress": "Completed", "gradingProgress": "FullyGraded",
                  "scoreGiven": 10, "scoreMaximum": 100}),
    ("error", {"activityProgress": "Completed", "gradingProgress": "Failed"}),
])
def test_each_outcome_maps_to_the_ags_progress_and_score(
    graded: Graded, factory, now, status: str, expected: dict[str, Any],
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, status)
    grades.queue_outcome(attempt, status, now)
    assert _queued() == [{"userId": "u-ada", "timestamp": now.isoformat(), **expected}]


@pytest.mark.parametrize("status", ["created", "started", "ready_to_submit", "timed_out"])
def test_other_statuses_publish_nothing(graded: Graded, factory, now, status: str) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, status)
    assert grades.queue_outcome(attempt, status, now) == []


def test_the_lifecycle_queues_in_the_same_transaction(graded: Graded, factory, now) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted", started_minutes_ago=30)
    savepoint = db.session.begin_nested()
    attempts.apply_action(attempt, Action.VERIFY, Actor.staff(graded.teacher), now)
    assert [p["gradingProgress"] for p in _queued()] == ["FullyGraded"]
    savepoint.rollback()  # the change is undone: so is its score
    assert _queued() == []


def test_nothing_is_queued_when_not_publishing_or_for_a_learner_the_lms_does_not_know(
    graded: Graded, factory, now,
) -> None:
    graded.settings.publish = False
    attempt = factory.attempt(graded.exam, graded.learner, "verified")
    assert grades.queue_outcome(attempt, "verified", now) == []
    graded.settings.publish = True
    stranger = factory.learner(COURSE_ID, "local-only")
    other = factory.attempt(graded.exam, stranger, "verified")
    assert grades.queue_outcome(other, "verified", now) == []
    graded.link.ags_lineitems_url = None  # a link without the grade service
    assert grades.queue_outcome(attempt, "verified", now) == []
    assert _queued() == []


def test_score_goes_to_the_line_item_the_launch_announced(
    lms, graded: Graded, factory, now,
) -> None:
    item = control(lms, "POST", "lineitems", {"context_id": "c-1", "label": "Final",
                                              "scoreMaximum": 100, "resourceLinkId": "rl-1"})
    graded.link.ags_lineitem_url = item["id"]
    attempt = factory.attempt(graded.exam, graded.learner, "verified")
    grades.queue_outcome(attempt, "verified", now)
    assert grades.deliver_pending(utcnow()) == 1
    [score] = _recorded(lms)
    assert (score["lineitem"], score["userId"], score["scoreGiven"]) == (item["id"], "u-ada", 90)
    row = db.session.execute(select(LtiScoreOutbox)).scalar_one()
    assert row.status == "delivered" and row.tries == 1
    assert len(control(lms, "GET", "state")["lineitems"]) == 1  # none created


def test_without_a_line_item_one_is_created_once_and_then_found(
    lms, graded: Graded, factory, now,
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted")
    grades.queue_outcome(attempt, "submitted", now)
    grades.queue_outcome(attempt, "verified", now + timedelta(minutes=5))
    assert grades.deliver_pending(utcnow()) == 2
    [line_item] = control(lms, "GET", "state")["lineitems"]
    assert (line_item["label"], line_item["resourceLinkId"], line_item["scoreMaximum"]) == (
        "Final Exam", "rl-1", 100)
    assert line_item["resourceId"] == f"proctor_web-exam-{graded.exam.id}"
    scores = _recorded(lms)
    assert [s["gradingProgress"] for s in scores] == ["PendingManual", "FullyGraded"]
    assert {s["lineitem"] for s in scores} == {line_item["id"]}


def test_outage_delays_scores_in_order_and_delivers_each_exactly_once(
    lms, graded: Graded, factory, now,
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted")
    grades.queue_outcome(attempt, "submitted", now)
    grades.queue_outcome(attempt, "verified", now + timedelta(minutes=5))
    control(lms, "POST", "fail", {"count": 100, "status": 503})
    first_try = utcnow()
    assert grades.deliver_pending(first_try) == 0
    rows = db.session.execute(select(LtiScoreOutbox).order_by(LtiScoreOutbox.id)).scalars().all()
    assert [(r.status, r.tries) for r in rows] == [("pending", 1), ("pending", 0)]  # in order
    assert "503" in rows[0].last_error and rows[0].next_attempt_at > first_try
    assert grades.deliver_pending(first_try) == 0  # not due yet: not tried again
    assert rows[0].tries == 1

    control(lms, "POST", "fail", {"count": 0})
    for row in rows:
        row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the backoff has passed
    assert grades.deliver_pending(utcnow()) == 2
    assert grades.deliver_pending(utcnow()) == 0
    assert [s["gradingProgress"] for s in _recorded(lms)] == ["PendingManual", "FullyGraded"]


def test_a_refused_score_is_kept_with_the_reason_and_not_retried(
    lms, graded: Graded, factory, now,
) -> None:
    control(lms, "PUT", "contexts/c-1", {"members": [{"user_id": "someone-else"}]})
    attempt = factory.attempt(graded.exam, graded.learner, "verified")
    grades.queue_outcome(attempt, "verified", now)
    assert grades.deliver_pending(utcnow()) == 0
    row = db.session.execute(select(LtiScoreOutbox)).scalar_one()
    assert row.status == "refused" and "422" in row.last_error
    assert grades.deliver_pending(utcnow() + timedelta(hours=2)) == 0
    assert row.tries == 1


def test_staff_verdict_reaches_the_gradebook_after_an_outage_via_the_sweep(
    app, client, lms, graded: Graded, factory,
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted", started_minutes_ago=30)
    db.session.commit()
    make_sign_in(app, client)(graded.teacher)
    control(lms, "POST", "fail", {"count": 3, "status": 503})
    response = client.post(f"/courses/{COURSE_ID}/instructor/attempts/{attempt.id}/verify",
                           data={"reason": "Reviewed the recording"})
    assert response.status_code == 302
    response.close()  # the after-commit delivery runs when the response is done
    db.session.expire_all()
    row = db.session.execute(select(LtiScoreOutbox)).scalar_one()
    assert row.status == "pending" and row.tries == 1 and "503" in row.last_error
    assert _recorded(lms) == []

    control(lms, "POST", "fail", {"count": 0})
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["proctor", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Delivered 1 LMS score(s)." in result.output
    assert "Delivered 0 LMS score(s)." in runner.invoke(args=["proctor", "sweep"]).output
    [score] = _recorded(lms)
    assert (score["userId"], score["scoreGiven"], score["gradingProgress"]) == (
        "u-ada", 90, "FullyGraded")
    assert db.session.get(Attempt, attempt.id).status == "verified"


def test_staff_verdict_is_delivered_right_after_commit(
    app, client, lms, graded: Graded, factory,
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted", started_minutes_ago=30)
    db.session.commit()
    make_sign_in(app, client)(graded.teacher)
    response = client.post(f"/courses/{COURSE_ID}/instructor/attempts/{attempt.id}/reject",
                           data={"reason": "Someone else in the room"})
    assert response.status_code == 302
    response.close()
    [score] = _recorded(lms)
    assert (score["scoreGiven"], score["gradingProgress"]) == (10, "FullyGraded")
    db.session.expire_all()
    assert db.session.execute(select(LtiScoreOutbox)).scalar_one().status == "delivered"


def test_settings_form_on_the_exam_page(app, client, graded: Graded) -> None:
    db.session.commit()
    make_sign_in(app, client)(graded.teacher)
    base = f"/courses/{COURSE_ID}/instructor/exams/{graded.exam.id}"
    page = client.get(f"{base}/edit").get_data(as_text=True)
    assert "LMS gradebook" in page and 'value="90"' in page
    refused = client.post(f"{base}/lms-grades", data={"publish": "true", "score_verified": "120",
                                                      "score_maximum": "100"})
    assert refused.status_code == 400
    assert "must not exceed the maximum score" in refused.get_data(as_text=True)
    saved = client.post(f"{base}/lms-grades", data={"score_verified": "8", "score_rejected": "0",
                                                    "score_maximum": "10"})
    assert saved.status_code == 302
    db.session.expire_all()
    settings = db.session.get(LtiGradeSettings, graded.exam.id)
    assert (settings.publish, settings.score_verified, settings.score_maximum) == (False, 8, 10)
    assert client.post(f"{base}/lms-grades", data={"score_maximum": "lots"}).status_code == 400


def test_local_courses_show_no_gradebook_settings(app, client, factory) -> None:
    teacher = factory.course_staff("course-v1:Local+L1+2026", "local-teacher")
    exam = factory.exam("timed", course_id="course-v1:Local+L1+2026")
    db.session.commit()
    make_sign_in(app, client)(teacher)
    page = client.get(f"/courses/course-v1:Local+L1+2026/instructor/exams/{exam.id}/edit")
    assert "LMS gradebook" not in page.get_data(as_text=True)


def test_a_line_items_service_answering_nonsense_refuses_the_score_without_crashing(
    lms, graded: Graded, factory, now,
) -> None:
    graded.link.ags_lineitems_url = f"{lms.url}/jwks.json"  # JSON, but not a container
    attempt = factory.attempt(graded.exam, graded.learner, "verified")
    grades.queue_outcome(attempt, "verified", now)
    assert grades.deliver_pending(utcnow()) == 0
    row = db.session.execute(select(LtiScoreOutbox)).scalar_one()
    assert row.status == "refused" and "not a JSON list" in row.last_error


def test_a_reset_attempt_clears_its_published_result(lms, graded: Graded, factory) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "submitted", started_minutes_ago=30)
    attempts.apply_action(attempt, Action.VERIFY, Actor.staff(graded.teacher), utcnow(),
                          reason="fine")
    attempts.apply_action(attempt, Action.REMOVE, Actor.staff(graded.teacher), utcnow(),
                          reason="retake")
    assert grades.deliver_pending(utcnow()) == 2
    scores = _recorded(lms)
    assert [(s["activityProgress"], s["gradingProgress"], s.get("scoreGiven"))
            for s in scores] == [("Completed", "FullyGraded", 90),
                                 ("Initialized", "NotReady", None)]
    rows = db.session.execute(select(LtiScoreOutbox).order_by(LtiScoreOutbox.id)).scalars().all()
    assert [r.attempt_status for r in rows] == ["verified", "removed"]


def test_removing_an_attempt_that_published_nothing_sends_nothing(
    graded: Graded, factory,
) -> None:
    attempt = factory.attempt(graded.exam, graded.learner, "started", started_minutes_ago=5)
    attempts.apply_action(attempt, Action.REMOVE, Actor.staff(graded.teacher), utcnow(),
                          reason="retake")
    assert _queued() == []


def test_the_exam_page_tells_how_scores_are_faring(
    app, client, lms, graded: Graded, factory, now,
) -> None:
    control(lms, "PUT", "contexts/c-1", {"members": [{"user_id": "u-ada"}]})
    grades.queue_outcome(factory.attempt(graded.exam, graded.learner, "verified"), "verified",
                         now)
    assert grades.deliver_pending(utcnow()) == 1
    control(lms, "PUT", "contexts/c-1", {"members": [{"user_id": "u-ada"}]})  # bo left
    other = factory.learner(COURSE_ID, "bo")
    db.session.add(UserIdentity(user_id=other.id, issuer=graded.platform.issuer, subject="u-bo"))
    grades.queue_outcome(factory.attempt(graded.exam, other, "rejected"), "rejected", now)
    grades.queue_outcome(factory.attempt(graded.exam, graded.learner, "error",
                                         resumed=True), "error", now)
    control(lms, "POST", "fail", {"count": 10})
    grades.deliver_pending(utcnow())
    control(lms, "POST", "fail", {"count": 0})
    db.session.commit()
    summary = grades.delivery_summary(graded.exam)
    assert (summary.delivered, summary.pending, summary.refused) == (1, 2, 0)
    grades.deliver_pending(utcnow() + timedelta(minutes=5))
    db.session.commit()
    make_sign_in(app, client)(graded.teacher)
    page = client.get(f"/courses/{COURSE_ID}/instructor/exams/{graded.exam.id}/edit")
    text = page.get_data(as_text=True)
    assert "Scores sent: 2; waiting for the LMS: 0; refused by the LMS: 1." in text
    assert "Latest refusal:" in text and "not in the course" in text
