"""Onboarding statuses come from a provider that keeps them (edx-proctoring's onboarding
profile API), read from the fake provider running as a real process: the learner's status
falls back to our attempts when the provider is down, the instructor list answers 503."""

from __future__ import annotations

import pytest
from flask import g

from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import courses, exams
from proctor_web.services.attempts import new_attempt_code
from proctor_web.services.obscured_ids import obscured_user_id
from tests.conftest import make_sign_in
from tests.integration.test_rest_provider_e2e import (  # noqa: F401  (fixtures)
    COURSE,
    Live,
    control,
    end_read,
    live,
    provider_url,
)

STATUS = "/api/edx_proctoring/v1/user_onboarding/status"
COURSE_LIST = f"/api/edx_proctoring/v1/user_onboarding/status/course_id/{COURSE}"


@pytest.fixture
def onboarding(live: Live):  # noqa: F811
    """An onboarding exam on the REST provider, a second learner and a staff member."""
    now = utcnow()
    exams.create_exam(COURSE, "onboarding", {
        "exam_name": "Onboarding", "time_limit_mins": 20, "is_proctored": True,
        "is_practice_exam": True, "backend": "rest"}, None, now)
    other = courses.create_user("omar", "omar-password-1", now, email="omar@example.org")
    courses.enroll(other, COURSE, now)
    staff = courses.create_user("tess", "tess-password-1", now, email="tess@example.org")
    courses.enroll(staff, COURSE, now, role="staff")
    db.session.commit()
    return {"learner": live.learner(), "other": other, "staff": staff}


def _seed(live: Live, user, status: str, expiration: str | None = None) -> None:  # noqa: F811
    control(live.provider_url, "onboarding", {
        "course_id": COURSE, "user_id": obscured_user_id(user.id, "rest"), "status": status,
        "expiration_date": expiration})


def _get(live: Live, user, url: str, **params):  # noqa: F811
    client = live.app.test_client()
    make_sign_in(live.app, client)(user)
    end_read()
    g.pop("_login_user", None)
    response = client.get(url, query_string=params)
    end_read()
    return response


def test_the_learner_status_is_the_providers(live, onboarding):  # noqa: F811
    _seed(live, onboarding["learner"], "approved-in-different-course",
          "2027-03-01T00:00:00+00:00")
    data = _get(live, onboarding["learner"], STATUS, course_id=COURSE).json
    assert data["onboarding_status"] == "other_course_approved"
    assert data["expiration_date"] == "2027-03-01T00:00:00Z"
    # A learner the provider never met has no onboarding, whatever the course.
    data = _get(live, onboarding["other"], STATUS, course_id=COURSE).json
    assert data["onboarding_status"] is None


def test_the_learner_status_falls_back_to_our_attempts_when_the_provider_is_down(
    live, onboarding  # noqa: F811
):
    learner = onboarding["learner"]
    exam = exams.find_exam(COURSE, "onboarding")
    now = utcnow()
    db.session.add(Attempt(user=learner, exam=exam, attempt_code=new_attempt_code(),
                           status="submitted", taking_as_proctored=True,
                           is_sample_attempt=True, external_id="local-only", created=now,
                           modified=now))
    db.session.commit()
    _seed(live, learner, "approved-in-course")
    assert _get(live, learner, STATUS, course_id=COURSE).json["onboarding_status"] == (
        "verified")
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    response = _get(live, learner, STATUS, course_id=COURSE)
    assert response.status_code == 200
    assert response.json["onboarding_status"] == "submitted"  # what our attempts say


def test_the_instructor_list_is_the_providers(live, onboarding):  # noqa: F811
    _seed(live, onboarding["learner"], "pending")
    _seed(live, onboarding["other"], "approved-in-course")
    data = _get(live, onboarding["staff"], COURSE_LIST).json
    assert data["use_onboarding_profile_api"] is True
    assert {r["username"]: r["status"] for r in data["results"]} == {
        "lena": "submitted", "omar": "verified"}
    verified = _get(live, onboarding["staff"], COURSE_LIST, statuses="verified").json
    assert [r["username"] for r in verified["results"]] == ["omar"]
    assert verified["count"] == 1


def test_learners_the_provider_does_not_know_have_not_started(live, onboarding):  # noqa: F811
    _seed(live, onboarding["other"], "rejected")
    data = _get(live, onboarding["staff"], COURSE_LIST).json
    assert {r["username"]: r["status"] for r in data["results"]} == {
        "lena": "not_started", "omar": "rejected"}
    not_started = _get(live, onboarding["staff"], COURSE_LIST, statuses="not_started").json
    assert [r["username"] for r in not_started["results"]] == ["lena"]


def test_the_instructor_list_is_503_when_the_provider_is_down(live, onboarding):  # noqa: F811
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    response = _get(live, onboarding["staff"], COURSE_LIST)
    assert response.status_code == 503
    assert "could not be asked" in response.json["detail"]
    page = _get(live, onboarding["staff"], f"/courses/{COURSE}/instructor/onboarding")
    assert page.status_code == 503
