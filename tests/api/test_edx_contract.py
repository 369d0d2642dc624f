"""Learner API answers that Open edX's special-exams library reads as edx-proctoring 6.1.4
writes them: the empty timer payload, past-due creation and the screen-reader time string."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.i18n import accessibility_time_string
from proctor_web.models import Attempt
from tests.conftest import make_sign_in

API = "/api/edx_proctoring/v1/proctored_exam"


@pytest.fixture
def now():
    """Requests run on the real clock, so the rows are stamped with it too."""
    from proctor_web.models import utcnow

    return utcnow()


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)


@pytest.fixture
def learner(factory):
    factory.course()
    user = factory.learner(username="edx-learner")
    db.session.commit()
    return user


def test_timer_payload_with_nothing_running_says_so(learner, sign_in, client):
    sign_in(learner)
    data = client.get(f"{API}/attempt").json
    # The library decides "no exam running" from these two fields, not from a missing key.
    assert data["in_timed_exam"] is False
    assert data["is_proctored"] is False
    assert data["timer_ends"] is None and data["server_time"]


@pytest.mark.parametrize("kind", ["timed", "proctored"])
def test_creating_an_attempt_past_the_due_date_is_403_and_creates_nothing(
    learner, factory, sign_in, client, now, kind
):
    exam = factory.exam(kind, due_date=now - timedelta(hours=1))
    db.session.commit()
    sign_in(learner)
    body = {"exam_id": exam.id, "start_clock": "true" if kind == "timed" else "false",
            "attempt_proctored": "true" if kind == "proctored" else "false"}
    response = client.post(f"{API}/attempt", json=body)
    assert response.status_code == 403, response.json
    assert "due" in response.json["detail"]
    count = db.session.execute(
        select(func.count()).select_from(Attempt).where(Attempt.exam_id == exam.id)
    ).scalar_one()
    assert count == 0


def test_starting_an_existing_timed_attempt_past_the_due_date_is_403(
    learner, factory, sign_in, client, now
):
    exam = factory.exam("timed", due_date=now - timedelta(minutes=1))
    attempt = factory.attempt(exam, learner, "created")
    db.session.commit()
    sign_in(learner)
    response = client.post(f"{API}/attempt", json={"exam_id": exam.id, "start_clock": "true"})
    assert response.status_code == 403
    db.session.refresh(attempt)
    assert attempt.status == "created" and attempt.started_at is None


def test_a_practice_exam_stays_open_after_its_due_date(learner, factory, sign_in, client, now):
    exam = factory.exam("practice", due_date=now - timedelta(hours=1))
    db.session.commit()
    sign_in(learner)
    response = client.post(f"{API}/attempt", json={"exam_id": exam.id,
                                                   "attempt_proctored": "true"})
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, "you have 0 minutes remaining"),
    (29, "you have 0 minutes remaining"),
    (30, "you have 0 minutes remaining"),  # 0.5 min rounds half to even, as Python's round()
    (31, "you have 1 minute remaining"),
    (59, "you have 1 minute remaining"),
    (90, "you have 2 minutes remaining"),  # 1.5 -> 2
    (150, "you have 2 minutes remaining"),  # 2.5 -> 2
    (3600, "you have 1 hour remaining"),
    (3660, "you have 1 hour and 1 minute remaining"),
    (5400, "you have 1 hour and 30 minutes remaining"),
    (7200, "you have 2 hours remaining"),
    (7500, "you have 2 hours and 5 minutes remaining"),
])
def test_accessibility_time_string_wording_and_rounding(app, seconds, expected):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert accessibility_time_string(seconds) == expected


def test_the_poll_carries_the_edx_time_string(learner, factory, sign_in, client):
    exam = factory.exam("timed", time_limit_mins=30)
    attempt = factory.attempt(exam, learner, "started", started_minutes_ago=10,
                              allowed_time_limit_mins=30)
    db.session.commit()
    sign_in(learner)
    data = client.get(f"{API}/attempt/{attempt.id}", headers={"Accept-Language": "en"}).json
    assert data["accessibility_time_string"] == "you have 20 minutes remaining"


def test_the_null_backend_reports_no_external_id(learner, factory, sign_in, client):
    exam = factory.exam("practice")  # proctored practice exam on the null backend
    db.session.commit()
    sign_in(learner)
    response = client.post(f"{API}/attempt", json={"exam_id": exam.id,
                                                   "attempt_proctored": "true"})
    attempt = db.session.get(Attempt, response.json["exam_attempt_id"])
    assert attempt.taking_as_proctored is True
    assert attempt.external_id is None
    assert client.get(f"{API}/attempt/{attempt.id}").json["external_id"] is None


def test_retrying_a_submitted_practice_exam_withdraws_it_at_the_provider_best_effort(
    learner, factory, sign_in, client
):
    from proctor_web.models import ProviderEvent

    exam = factory.exam("onboarding")  # proctored practice on the mock provider
    attempt = factory.attempt(exam, learner, "submitted", external_id="ext-practice",
                              started_minutes_ago=5)
    db.session.commit()
    sign_in(learner)
    response = client.put(f"{API}/attempt/{attempt.id}", json={"action": "reset_attempt"})
    assert response.status_code == 200, response.json
    db.session.refresh(attempt)
    assert attempt.status == "onboarding_reset"
    (event,) = db.session.execute(select(ProviderEvent)).scalars().all()
    assert (event.kind, event.attempt_external_id) == ("remove", "ext-practice")
