"""What the dashboard pages show and do, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceHistory,
    Attempt,
    Review,
    ReviewComment,
    utcnow,
)
from proctor_web.services import allowances
from proctor_web.services.attempts import history_of
from tests.instructor.conftest import page_url


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_course_id_survives_url_encoding(dash, login_as, client):
    login_as(dash.staff)
    encoded = dash.course_id.replace(":", "%3A").replace("+", "%2B")
    assert client.get(f"/courses/{encoded}/instructor/").status_code == 200
    text = client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True)
    # Links the page builds lead back to the same course.
    assert "/courses/course-v1:TestX+T101+2026/instructor/attempts/" in text


def test_overview_counts_statuses_and_calls_out_stuck_attempts(dash, factory, login_as, client,
                                                               now):
    # The page judges against the real clock.
    clock = utcnow()
    fresh = factory.attempt(dash.timed, factory.learner(username="stale"), "created")
    fresh.modified = clock - timedelta(minutes=5)
    # Created long ago and never started: not moving for longer than the exam lasts.
    old = factory.attempt(dash.proctored, factory.learner(username="idle"), "created")
    old.modified = clock - timedelta(hours=5)
    runaway = factory.attempt(dash.timed, factory.learner(username="runaway"), "started")
    runaway.started_at = runaway.modified = clock - timedelta(hours=10)
    runaway.allowed_time_limit_mins = 60
    db.session.commit()
    login_as(dash.staff)
    text = plain(client.get(page_url(dash.course_id)).get_data(as_text=True))
    assert "Final Exam" in text and "Quiz One" in text
    assert "Submitted: 1" in text and "Error: 1" in text and "Created: 1" in text
    stuck = text.split("Attempts that need attention")[1]
    assert "learner2" in stuck  # in error
    assert "idle" in stuck and "runaway" in stuck
    assert "stale" not in stuck  # created just now: not stuck yet
    assert "learner1" not in stuck  # submitted


def test_attempts_page_shows_latest_per_learner_with_earlier_one_click_away(
        dash, factory, login_as, client):
    dash.errored.resumed = True
    newer = factory.attempt(dash.proctored, dash.learner2, "started", started_minutes_ago=5)
    db.session.commit()
    login_as(dash.staff)
    text = client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True)
    assert f"attempts/{newer.id}\"" in text
    assert "1 earlier" in text and f"attempts/{dash.errored.id}\"" in text
    assert text.count("<tr>") == 1 + 2  # header + learner1 and learner2 (latest only)


def test_attempts_search_filters_sort_and_pagination(dash, factory, login_as, client):
    for number in range(30):
        factory.attempt(dash.timed, factory.learner(username=f"bulk{number:02d}"), "submitted")
    db.session.commit()
    login_as(dash.staff)
    url = page_url(dash.course_id, "attempts")
    first = client.get(url).get_data(as_text=True)
    assert "32 results" in first and "page 1 of 2" in first and "Next page" in first
    second = client.get(url + "?page=2").get_data(as_text=True)
    assert "page 2 of 2" in second and "Previous page" in second
    assert second.count('scope="row"') == 7
    assert "3 results" not in client.get(url + "?q=bulk0").get_data(as_text=True)
    found = client.get(url + "?q=BULK0").get_data(as_text=True)
    assert "10 results" in found
    by_email = client.get(url + "?q=learner2%40example").get_data(as_text=True)
    assert "1 result" in by_email and "learner2" in by_email
    errors = client.get(url + "?status=error").get_data(as_text=True)
    assert "1 result" in errors and "learner2" in errors
    proctored = client.get(url + "?type=proctored").get_data(as_text=True)
    assert "2 results" in proctored
    only_exam = client.get(url + f"?exam={dash.timed.id}").get_data(as_text=True)
    assert "30 results" in only_exam
    by_name = client.get(url + "?sort=-username").get_data(as_text=True)
    rows = [line for line in by_name.split("\n") if 'scope="row"' in line]
    assert "learner2" in rows[0]
    # Filters survive in the pager links.
    assert "sort=-username" in by_name.split("Next page")[0].rsplit("href=", 1)[1]


def test_attempt_detail_shows_timeline_time_allowances_and_review(dash, factory, login_as,
                                                                   client, now):
    allowances.set_allowance(dash.proctored, dash.learner, "additional_time_granted", "20",
                             dash.staff, now)
    review = Review(attempt_code=dash.submitted.attempt_code, review_status="Suspicious",
                    encrypted_video_url=b"https://video.example/rec/42", student_id=dash.learner.id,
                    exam_id=dash.proctored.id, created=now, modified=now)
    review.comments.append(ReviewComment(comment="Second person in view", status="Suspicious",
                                         start_time=30, stop_time=42))
    db.session.add(review)
    db.session.commit()
    login_as(dash.staff)
    # Verify it first so the timeline has a staff entry with a reason.
    client.post(page_url(dash.course_id, f"attempts/{dash.submitted.id}/verify"),
                data={"reason": "reviewed the video myself"})
    text = client.get(page_url(dash.course_id, f"attempts/{dash.submitted.id}")).get_data(
        as_text=True)
    assert "reviewed the video myself" in text and "teacher (staff)" in text
    assert "Verified" in text
    assert "60 minutes" in text  # allowed time
    assert "1 h 00 min 00 s" in text  # used: started 90 min before completion, capped at 60
    assert "Extra minutes: 20" in text
    assert "Suspicious" in text and "Second person in view" in text
    assert 'href="https://video.example/rec/42"' in text


def test_verify_and_reject_need_a_reason_and_confirm_without_javascript(dash, login_as, client,
                                                                        session):
    login_as(dash.staff)
    url = page_url(dash.course_id, f"attempts/{dash.submitted.id}/reject")
    confirm = client.get(url).get_data(as_text=True)
    assert "Reject this attempt?" in confirm and 'method="post"' in confirm
    refused = client.post(url, data={"reason": "   "})
    assert refused.status_code == 400
    assert "say why" in refused.get_data(as_text=True)
    assert session.get(Attempt, dash.submitted.id).status == "submitted"
    done = client.post(url, data={"reason": "phone on desk"})
    assert done.status_code == 302
    assert session.get(Attempt, dash.submitted.id).status == "rejected"
    last = history_of(dash.submitted.id)[-1]
    assert (last.action, last.to_status, last.actor_id, last.reason) == (
        "reject", "rejected", dash.staff.id, "phone on desk")


def test_reset_archives_the_attempt_and_keeps_its_history(dash, login_as, client, session):
    login_as(dash.staff)
    attempt_id = dash.submitted.id
    response = client.post(page_url(dash.course_id, f"attempts/{attempt_id}/reset"),
                           data={"reason": "fire alarm during the exam"})
    assert response.status_code == 302
    assert session.get(Attempt, attempt_id) is None
    assert history_of(attempt_id)[-1].reason == "fire alarm during the exam"
    archived = client.get(page_url(dash.course_id, f"attempts/{attempt_id}"))
    assert archived.status_code == 200
    text = archived.get_data(as_text=True)
    assert "This attempt was reset" in text and "fire alarm during the exam" in text
    assert "Reset learner1&#39;s attempt" not in text  # no actions on an archived attempt


def test_resume_marks_an_errored_attempt_ready(dash, login_as, client, session):
    login_as(dash.staff)
    detail = client.get(page_url(dash.course_id, f"attempts/{dash.errored.id}")).get_data(
        as_text=True)
    assert "Let learner2 resume" in detail
    response = client.post(page_url(dash.course_id, f"attempts/{dash.errored.id}/resume"),
                           data={"reason": "camera crashed"})
    assert response.status_code == 302
    attempt = session.get(Attempt, dash.errored.id)
    assert attempt.ready_to_resume and not attempt.is_resumable
    assert history_of(attempt.id)[-1].action == "mark_ready_to_resume"
    # Asking twice is refused with the state machine's reason, shown on the form.
    again = client.post(page_url(dash.course_id, f"attempts/{dash.errored.id}/resume"))
    assert again.status_code == 400 and "cannot be resumed" in again.get_data(as_text=True)


def test_bulk_allowance_for_several_learners_and_exams_with_per_row_results(
        dash, login_as, client, session):
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1\nlearner2@example.com, ghost",
        "exam_ids": [str(dash.timed.id), str(dash.proctored.id)],
        "allowance_type": "time_multiplier", "value": "1.5",
    })
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "4 saved, 2 not saved." in text and "No learner &#39;ghost&#39; in this course." in text
    # 1.5 x is converted per exam: 60 min -> 30 extra on both (timed and proctored are 60).
    assert allowances.extra_minutes(dash.learner.id, dash.timed.id) == 30
    assert allowances.extra_minutes(dash.learner2.id, dash.proctored.id) == 30
    # Review-policy exceptions only apply to proctored exams: the timed row fails alone.
    response = client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1", "exam_ids": [str(dash.timed.id), str(dash.proctored.id)],
        "allowance_type": "review_policy_exception", "value": "May use a calculator",
    })
    text = response.get_data(as_text=True)
    assert "1 saved, 1 not saved." in text and "proctored exams only" in text
    assert allowances.review_policy_exception(dash.learner.id, dash.proctored.id) == (
        "May use a calculator")
    page = client.get(page_url(dash.course_id, "allowances")).get_data(as_text=True)
    assert page.index("learner1") < page.index("learner2")  # grouped by learner


def test_all_successful_allowances_redirect_with_a_message(dash, login_as, client):
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, "allowances"), data={
        "users": "learner1, learner2", "exam_ids": [str(dash.proctored.id)],
        "allowance_type": "additional_time_granted", "value": "25"}, follow_redirects=True)
    assert "Allowance saved for 2 learner and exam pairs." in response.get_data(as_text=True)


def test_edit_and_delete_allowance_keep_history(dash, login_as, client, session, now):
    allowance = allowances.set_allowance(dash.proctored, dash.learner, "additional_time_granted",
                                         "30", dash.staff, now)
    db.session.commit()
    login_as(dash.staff)
    base = page_url(dash.course_id, f"allowances/{allowance.id}")
    assert client.post(base + "/edit", data={"value": "45"}).status_code == 302
    assert allowances.extra_minutes(dash.learner.id, dash.proctored.id) == 45
    assert "Delete allowance?" in client.get(base + "/delete").get_data(as_text=True)
    assert client.post(base + "/delete").status_code == 302
    assert session.query(Allowance).count() == 0
    actions = [h.action for h in session.query(AllowanceHistory).order_by(AllowanceHistory.id)]
    assert actions == ["create", "update", "delete"]
    text = client.get(page_url(dash.course_id, "allowances")).get_data(as_text=True)
    assert "deleted (old value)" in text and "replaced (old value)" in text


def test_exam_create_and_edit(dash, login_as, client, session):
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, "exams/new"), data={
        "exam_name": "Midterm", "content_id": "midterm", "time_limit_mins": "45",
        "due_date": "2026-12-01T17:00", "exam_type": "proctored", "backend": "mock",
        "review_policy": "Open book", "is_active": "true"})
    assert response.status_code == 302
    from proctor_web.services import exams
    exam = exams.find_exam(dash.course_id, "midterm")
    assert exam.is_proctored and not exam.is_practice_exam and exam.time_limit_mins == 45
    assert exam.due_date.isoformat() == "2026-12-01T17:00:00+00:00"
    assert exam.review_policy.review_policy == "Open book"
    assert exam.external_id == f"mock-exam-{exam.id}"  # pushed to the provider
    response = client.post(page_url(dash.course_id, f"exams/{exam.id}/edit"), data={
        "exam_name": "Midterm (rescheduled)", "time_limit_mins": "50", "due_date": "",
        "exam_type": "proctored", "backend": "mock", "review_policy": "Closed book"})
    assert response.status_code == 302
    session.refresh(exam)
    assert (exam.exam_name, exam.time_limit_mins, exam.due_date, exam.is_active) == (
        "Midterm (rescheduled)", 50, None, False)
    assert exam.review_policy.review_policy == "Closed book"


def test_the_due_date_field_round_trips_to_the_second(dash, login_as, client, session):
    """Issue 12: the due-date field says its zone (UTC) and gives back exactly what it got,
    so saving the form unchanged never moves a due date set to the second (by the API)."""
    import re
    from datetime import UTC, datetime

    from proctor_web.services import exams

    login_as(dash.staff)
    exam = exams.find_exam(dash.course_id, dash.timed.content_id)
    exam.due_date = datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)
    session.commit()
    form = client.get(page_url(dash.course_id, f"exams/{exam.id}/edit")).get_data(as_text=True)
    assert "UTC" in form[:form.index('id="due_date"') + 400]
    shown = re.search(r'id="due_date"[^>]*value="([^"]*)"', form)[1]
    assert shown == "2026-12-24T23:59:59"
    response = client.post(page_url(dash.course_id, f"exams/{exam.id}/edit"), data={
        "exam_name": exam.exam_name, "time_limit_mins": str(exam.time_limit_mins),
        "due_date": shown, "exam_type": "timed", "is_active": "true"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    session.refresh(exam)
    assert exam.due_date == datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)


def test_course_settings(dash, login_as, client, session):
    login_as(dash.staff)
    response = client.post(page_url(dash.course_id, "settings"), data={
        "proctoring_escalation_email": "exams@example.com", "allow_proctoring_opt_out": "true"})
    assert response.status_code == 302
    from proctor_web.services import courses
    course = courses.get_course(dash.course_id)
    assert course.proctoring_escalation_email == "exams@example.com"
    assert course.allow_proctoring_opt_out


def test_onboarding_page_statuses_search_and_filters(dash, factory, login_as, client):
    factory.attempt(dash.onboarding, dash.learner, "verified")
    factory.attempt(dash.onboarding, dash.learner2, "started", started_minutes_ago=1)
    factory.learner(username="newbie")
    db.session.commit()
    login_as(dash.staff)
    url = page_url(dash.course_id, "onboarding")
    text = client.get(url).get_data(as_text=True)
    assert "3 results" in text
    for label in ("Verified", "Onboarding started", "Not started"):
        assert label in text
    only = client.get(url + "?status=verified").get_data(as_text=True)
    assert "1 result" in only and "learner1" in only and "newbie" not in only
    both = client.get(url + "?status=verified&status=not_started").get_data(as_text=True)
    assert "2 results" in both
    search = client.get(url + "?q=newb").get_data(as_text=True)
    assert "1 result" in search and "newbie" in search


def test_csv_exports_stream_every_attempt_and_the_violation_report(dash, login_as, client, now):
    review = Review(attempt_code=dash.submitted.attempt_code, review_status="Suspicious",
                    exam_id=dash.proctored.id, student_id=dash.learner.id, created=now,
                    modified=now)
    review.comments.append(ReviewComment(comment="Looked away", status="Suspicious"))
    review.comments.append(ReviewComment(comment="=HYPERLINK(1)", status="Rules Violation"))
    db.session.add(review)
    db.session.commit()
    login_as(dash.staff)
    response = client.get(page_url(dash.course_id, "export/attempts.csv"))
    assert response.is_streamed
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["username"] for r in rows} == {"learner1", "learner2"}
    report = client.get(page_url(dash.course_id, "export/violations.csv"))
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    by_user = {r["username"]: r for r in rows}
    assert by_user["learner1"]["review_status"] == "Suspicious"
    assert by_user["learner1"]["Suspicious Comments"] == "Looked away"
    assert by_user["learner1"]["Rules Violation Comments"] == "'=HYPERLINK(1)"  # defused
    assert by_user["learner2"]["review_status"] == ""
