"""The course-staff JSON API under /api/edx_proctoring/v1/: edx-proctoring's paths, fields and
codes (the permission matrix and bad input live in tests/instructor/)."""

from __future__ import annotations

from datetime import timedelta

from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import allowances, exams, onboarding
from proctor_web.services.attempts import history_of
from proctor_web.services.dashboard.onboarding_list import onboarding_page, parse_onboarding_filters
from proctor_web.services.learner.payloads import iso
from tests.instructor import conftest as instructor_fixtures

V1 = "/api/edx_proctoring/v1"
PE = f"{V1}/proctored_exam"
# The instructor tests' fixtures: two courses, one person per role.
dash = instructor_fixtures.dash
login_as = instructor_fixtures.login_as

EXAM_FIELDS = {"id", "course_id", "content_id", "external_id", "exam_name", "time_limit_mins",
               "is_proctored", "is_practice_exam", "is_active", "due_date", "hide_after_due",
               "backend"}


def test_exam_create_get_update(dash, login_as, client):
    login_as(dash.staff)
    response = client.post(f"{PE}/exam", json={
        "course_id": dash.course_id, "content_id": "block-9", "exam_name": "Made by API",
        "time_limit_mins": 40, "is_proctored": "true", "is_practice_exam": "false",
        "external_id": "", "is_active": True, "hide_after_due": False,
        "due_date": "2026-12-24T10:00:00Z", "backend": "mock"})
    assert response.status_code == 200
    exam_id = response.get_json()["exam_id"]
    got = client.get(f"{PE}/exam/exam_id/{exam_id}").get_json()
    assert set(got) == EXAM_FIELDS
    assert got["due_date"] == "2026-12-24T10:00:00Z" and got["is_proctored"] is True
    assert got["external_id"] == f"mock-exam-{exam_id}"
    assert client.put(f"{PE}/exam", json={"exam_id": exam_id, "time_limit_mins": 45,
                                          "is_active": "false"}).get_json() == {"exam_id": exam_id}
    by_content = client.get(f"{PE}/exam/course_id/{dash.course_id}/content_id/block-9").get_json()
    assert by_content["time_limit_mins"] == 45 and by_content["is_active"] is False
    active = client.get(f"{PE}/exam/course_id/{dash.course_id}").get_json()
    assert exam_id not in {e["id"] for e in active}  # inactive exams are not listed
    assert {e["exam_name"] for e in active} == {"Quiz One", "Final Exam", "Onboarding"}


def test_exam_registration_upserts_and_deactivates_the_rest(dash, login_as, client, session):
    login_as(dash.staff)
    response = client.patch(f"{PE}/exam_registration/course_id/{dash.course_id}", json=[
        {"content_id": dash.proctored.content_id, "exam_name": "Final (v2)",
         "time_limit_mins": 90, "is_proctored": True, "backend": "mock"},
        {"content_id": "brand-new", "exam_name": "New quiz", "time_limit_mins": 10},
    ])
    assert response.status_code == 200
    ids = [item["exam_id"] for item in response.get_json()]
    assert ids[0] == dash.proctored.id
    session.expire_all()
    assert exams.get_exam(dash.proctored.id).exam_name == "Final (v2)"
    assert exams.get_exam(ids[1]).time_limit_mins == 10
    timed = exams.get_exam(dash.timed.id)
    assert (timed.is_active, timed.is_proctored) == (False, False)


def test_grouped_attempts_latest_per_learner_with_all_attempts(dash, factory, login_as, client):
    dash.errored.resumed = True
    newer = factory.attempt(dash.proctored, dash.learner2, "started", started_minutes_ago=1)
    for number in range(26):
        factory.attempt(dash.timed, factory.learner(username=f"many{number:02d}"), "submitted")
    db.session.commit()
    login_as(dash.staff)
    body = client.get(f"{PE}/attempt/grouped/course_id/{dash.course_id}").get_json()
    assert body["pagination_info"] == {"has_previous": False, "has_next": True,
                                       "current_page": 1, "total_pages": 2, "count": 28}
    assert body["attempt_url"] == f"{PE}/attempt/grouped/course_id/{dash.course_id}"
    page2 = client.get(f"{PE}/attempt/grouped/course_id/{dash.course_id}?page=2").get_json()
    assert len(page2["proctored_exam_attempts"]) == 3
    assert page2["pagination_info"]["has_previous"] is True
    found = client.get(f"{PE}/attempt/grouped/course_id/{dash.course_id}/search/learner2")
    items = found.get_json()["proctored_exam_attempts"]
    assert [i["id"] for i in items] == [newer.id]
    assert [a["id"] for a in items[0]["all_attempts"]] == [newer.id, dash.errored.id]
    item = items[0]
    assert item["user"] == {"id": dash.learner2.id, "username": "learner2",
                            "email": "learner2@example.com"}
    assert item["proctored_exam"]["exam_name"] == "Final Exam"
    for field in ("attempt_code", "allowed_time_limit_mins", "is_sample_attempt",
                  "taking_as_proctored", "is_resumable", "ready_to_resume", "resumed",
                  "started_at", "completed_at", "status", "created", "modified"):
        assert field in item
    by_email = client.get(f"{PE}/attempt/grouped/course_id/{dash.course_id}/search/"
                          "learner1@example.com").get_json()
    assert [i["user"]["username"] for i in by_email["proctored_exam_attempts"]] == ["learner1"]


def test_delete_attempt_and_reset_attempts_keep_history(dash, factory, login_as, client,
                                                        session):
    login_as(dash.staff)
    attempt_id = dash.submitted.id
    assert client.delete(f"{PE}/attempt/{attempt_id}").status_code == 200
    assert session.get(Attempt, attempt_id) is None
    assert history_of(attempt_id)[-1].action == "remove"
    first = dash.errored
    first.resumed = True
    second = factory.attempt(dash.proctored, dash.learner2, "error")
    db.session.commit()
    response = client.delete(f"{PE}/exam_id/{dash.proctored.id}/user_id/{dash.learner2.id}"
                             "/reset_attempts")
    assert response.status_code == 200
    assert session.get(Attempt, first.id) is None and session.get(Attempt, second.id) is None
    assert history_of(second.id)[-1].actor_id == dash.staff.id


def test_allowances_list_grouped_put_delete(dash, login_as, client):
    login_as(dash.staff)
    assert client.put(f"{PE}/allowance", json={
        "exam_id": dash.proctored.id, "user_info": "learner1@example.com",
        "key": "additional_time_granted", "value": "15"}).get_json() is None
    assert client.put(f"{PE}/allowance", json={
        "exam_id": dash.proctored.id, "user_info": str(dash.learner2.id),
        "key": "review_policy_exception", "value": "Calculator allowed"}).status_code == 200
    listed = client.get(f"{PE}/{dash.course_id}/allowance").get_json()
    assert {(a["user"]["username"], a["key"], a["value"]) for a in listed} == {
        ("learner1", "additional_time_granted", "15"),
        ("learner2", "review_policy_exception", "Calculator allowed")}
    assert set(listed[0]) == {"id", "created", "modified", "user", "key", "value",
                              "proctored_exam"}
    grouped = client.get(f"{PE}/{dash.course_id}/grouped/allowance").get_json()
    assert sorted(grouped) == ["learner1", "learner2"]
    response = client.delete(f"{PE}/allowance", json={
        "exam_id": dash.proctored.id, "user_id": dash.learner.id,
        "key": "additional_time_granted"})
    assert response.status_code == 200
    assert allowances.extra_minutes(dash.learner.id, dash.proctored.id) == 0


def test_bulk_allowance_200_and_207(dash, login_as, client):
    login_as(dash.staff)
    response = client.put(f"{PE}/bulk_allowance", data={
        "course_id": dash.course_id, "exam_ids": f"{dash.timed.id},{dash.proctored.id}",
        "user_ids": "learner1,learner2@example.com", "allowance_type": "time_multiplier",
        "value": "1.25"})
    assert response.status_code == 200
    assert len(response.get_json()) == 4
    assert allowances.extra_minutes(dash.learner2.id, dash.timed.id) == 15
    response = client.put(f"{PE}/{dash.course_id}/bulk_allowance", json={
        "exam_ids": f"{dash.timed.id},{dash.proctored.id}", "user_ids": "learner1",
        "allowance_type": "review_policy_exception", "value": "Notes allowed"})
    assert response.status_code == 207
    assert response.get_json() == [{
        "exam_id": dash.timed.id, "user_id": "learner1",
        "detail": "A review policy exception applies to proctored exams only."}]
    assert allowances.review_policy_exception(dash.learner.id, dash.proctored.id) == (
        "Notes allowed")


def test_onboarding_status_by_course(dash, factory, login_as, client):
    clock = utcnow()
    factory.attempt(dash.onboarding, dash.learner, "verified").modified = clock
    factory.attempt(dash.onboarding, dash.learner2, "submitted")
    for number in range(25):
        factory.learner(username=f"z{number:02d}")
    db.session.commit()
    login_as(dash.staff)
    url = f"{V1}/user_onboarding/status/course_id/{dash.course_id}"
    body = client.get(url).get_json()
    assert body["count"] == 27 and body["num_pages"] == 2 and body["previous"] is None
    assert body["next"].endswith("page=2")
    assert body["use_onboarding_profile_api"] is False
    first = body["results"][0]
    assert first == {"username": "learner1", "enrollment_mode": "verified",
                     "status": "verified", "modified": iso(clock)}
    assert body["results"][1]["status"] == "submitted"
    assert body["results"][2]["status"] == "not_started"
    filtered = client.get(url + "?statuses=verified,submitted").get_json()
    assert [r["username"] for r in filtered["results"]] == ["learner1", "learner2"]
    searched = client.get(url + "?text_search=z1").get_json()
    assert searched["count"] == 10


def test_onboarding_sql_matches_the_per_learner_rules(dash, factory, now, app):
    """The dashboard's one-query status equals ``instructor_status(learner_onboarding())``."""
    other_course = "course-v1:Else+E1+2026"
    factory.course(other_course)
    elsewhere = factory.exam("onboarding", course_id=other_course)
    cases = {
        "nothing": [],
        "setup": [("created", 0)],
        "going": [("started", 0)],
        "sent": [("submitted", 0)],
        "second": [("second_review_required", 0)],
        "ok": [("verified", 0)],
        "old_ok": [("verified", 400)],
        "old_ok_then_reset": [("verified", 400), ("onboarding_reset", 1)],
        "no": [("rejected", 0)],
        "broke": [("error", 0)],
        "out": [("declined", 0)],
        "reset": [("onboarding_reset", 0)],
        "rejected_then_ok": [("rejected", 5), ("verified", 1)],
    }
    users = {}
    for name, history in cases.items():
        user = users[name] = factory.learner(username=name)
        for status, days_ago in history:
            attempt = factory.attempt(dash.onboarding, user, status)
            attempt.modified = now - timedelta(days=days_ago)
            db.session.flush()
    abroad = users["abroad"] = factory.learner(username="abroad")
    factory.attempt(elsewhere, abroad, "verified").modified = now
    db.session.flush()
    page = onboarding_page(dash.course_id, parse_onboarding_filters("", [], 1), now, 100)
    by_name = {row.username: row.status for row in page.rows}
    for name, user in users.items():
        expected = onboarding.instructor_status(
            onboarding.learner_onboarding(user, dash.course_id, now))
        assert by_name[name] == expected.value, name
    assert by_name["abroad"] == "other_course_approved"
    assert by_name["old_ok"] == "expired"
