"""Every path that trusts a provider id acts only within the caller's own provider and course.

The backend named by the caller's credentials must be the attempt's exam's backend, and a
course's staff reach only their course's attempts through a provider id.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import func, select

from proctor_web.backends import rpnow_signing as rpnow
from proctor_web.extensions import db
from proctor_web.models import Attempt, Review
from tests.factories import COURSE_ID
from tests.webhooks import test_ops_views, test_rpnow_callbacks
from tests.webhooks.test_ops_views import PASSWORD, SECRET
from tests.webhooks.test_rpnow_callbacks import SETTINGS

rest_backend = test_ops_views.rest_backend
rpnow_backend = test_rpnow_callbacks.rpnow_backend

PREFIX = "/api/edx_proctoring/v1/proctored_exam/attempt"
OTHER_COURSE = "course-v1:OtherX+O101+2026"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def twin_attempts(factory):
    """Two providers that happen to use the same attempt id; the null one's is newer."""
    mock_attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "created",
                                   external_id="same-id")
    null_attempt = factory.attempt(factory.exam("proctored", backend="null"),
                                   factory.learner(), "created", external_id="same-id")
    db.session.commit()
    return mock_attempt, null_attempt


def _status(attempt: Attempt) -> str:
    db.session.expire_all()
    return db.session.get(Attempt, attempt.id).status


def test_ready_reaches_the_callers_own_attempt_when_ids_collide(client, twin_attempts,
                                                                provider_token):
    mock_attempt, null_attempt = twin_attempts
    response = client.post(f"{PREFIX}/same-id/ready", json={},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 200, response.json
    assert _status(mock_attempt) == "ready_to_start"
    assert _status(null_attempt) == "created"


def test_review_reaches_the_callers_own_attempt_when_ids_collide(client, factory,
                                                                 provider_token):
    mine = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted",
                           external_id="same-id", started_minutes_ago=30)
    theirs = factory.attempt(factory.exam("proctored", backend="null"), factory.learner(),
                             "submitted", external_id="same-id", started_minutes_ago=30)
    db.session.commit()
    response = client.post(f"{PREFIX}/same-id/reviewed", json={"status": "passed"},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 200, response.json
    assert _status(mine) == "verified"
    assert _status(theirs) == "submitted"


def test_ready_for_an_exam_no_longer_proctored_changes_nothing(client, factory,
                                                               provider_token):
    exam = factory.exam("proctored")
    attempt = factory.attempt(exam, factory.learner(), "created", external_id="ext-t")
    exam.is_proctored = False  # switched to a timed exam after registration
    db.session.commit()
    response = client.post(f"{PREFIX}/ext-t/ready", json={},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 412 and response.json["detail"]
    assert _status(attempt) == "created"


@pytest.fixture
def staff_client(client, factory):
    staff = factory.course_staff()
    staff.set_password(PASSWORD)
    db.session.commit()
    response = client.post("/login", data={"username": staff.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_dashboard_refuses_a_provider_id_from_another_course(staff_client, factory,
                                                             rest_backend):
    factory.exam("proctored", backend="rest")
    foreign_exam = factory.exam("proctored", course_id=OTHER_COURSE, backend="rest")
    factory.attempt(foreign_exam, factory.learner(OTHER_COURSE), "submitted",
                    external_id="att-foreign", started_minutes_ago=30)
    db.session.commit()
    url = f"/api/edx_proctoring/v1/instructor/{COURSE_ID}"
    refused = staff_client.get(url + "?attempt=att-foreign")
    assert refused.status_code == 404 and refused.json["detail"]


def test_dashboard_accepts_a_provider_id_of_the_course(staff_client, factory, rest_backend):
    exam = factory.exam("proctored", backend="rest")
    exam.external_id = "ex-own"
    factory.attempt(exam, factory.learner(), "submitted", external_id="att-own",
                    started_minutes_ago=30)
    db.session.commit()
    response = staff_client.get(
        f"/api/edx_proctoring/v1/instructor/{COURSE_ID}/{exam.id}?attempt=att-own")
    assert response.status_code == 302
    token = parse_qs(urlsplit(response.headers["Location"]).query)["jwt"][0]
    assert jwt.decode(token, SECRET, algorithms=["HS256"], issuer="cid")["attempt_id"] == (
        "att-own")


def test_dashboard_does_not_open_another_course_s_review_video(staff_client, factory, now,
                                                               rpnow_backend):
    factory.exam("proctored", backend="software_secure")
    foreign_exam = factory.exam("proctored", course_id=OTHER_COURSE, backend="software_secure")
    foreign = factory.attempt(foreign_exam, factory.learner(OTHER_COURSE), "verified",
                              external_id="LOC-F", started_minutes_ago=30)
    db.session.add(Review(
        attempt_code=foreign.attempt_code, review_status="Clean", raw_data="{}",
        student_id=foreign.user_id, created=now, modified=now,
        encrypted_video_url=rpnow.encrypt_video_url(SETTINGS["video_review_aes_key"],
                                                    "https://rpnow.example/secret-video")))
    db.session.commit()
    response = staff_client.get(f"/api/edx_proctoring/v1/instructor/{COURSE_ID}?attempt=LOC-F")
    assert response.status_code == 404
    assert "secret-video" not in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Review)).scalar_one() == 1
