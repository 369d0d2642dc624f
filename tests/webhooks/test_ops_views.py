"""Operations endpoints: the provider dashboard redirect and user retirement."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import select

from proctor_web.backends.rest import RestBackend
from proctor_web.extensions import db
from proctor_web.models import Review
from tests.factories import COURSE_ID

PASSWORD = "correct-horse-battery"
SECRET = "rest-client-secret-0123456789-0123456789"


@pytest.fixture
def rest_backend(app):
    """A REST backend whose provider is unreachable (port 9 on loopback refuses)."""
    registry = app.extensions["proctor_backends"]
    backend = RestBackend("rest", {"base_url": "http://127.0.0.1:9", "client_id": "cid",
                                   "client_secret": SECRET, "timeout_seconds": 2})
    registry._backends["rest"] = backend
    yield backend
    registry._backends.pop("rest", None)


@pytest.fixture
def login(client):
    def _login(user) -> None:
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.data
    return _login


def test_dashboard_redirects_course_staff_with_a_signed_token(client, factory, login,
                                                              rest_backend):
    staff = factory.course_staff()
    staff.set_password(PASSWORD)
    exam = factory.exam("proctored", backend="rest")
    exam.external_id = "ex-9"
    factory.attempt(exam, factory.learner(), "submitted", external_id="att-1",
                    started_minutes_ago=30)
    db.session.commit()
    login(staff)

    response = client.get(f"/api/edx_proctoring/v1/instructor/{COURSE_ID}/{exam.id}"
                          "?attempt=att-1&config=true")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "127.0.0.1:9" and location.path == "/api/v1/instructor/cid/"
    claims = jwt.decode(parse_qs(location.query)["jwt"][0], SECRET, algorithms=["HS256"],
                        issuer="cid")
    assert (claims["course_id"], claims["exam_id"], claims["attempt_id"]) == (
        COURSE_ID, "ex-9", "att-1")
    assert claims["config"] is True and claims["user"]["email"] == staff.email

    assert client.get(f"/api/edx_proctoring/v1/instructor/{COURSE_ID}").status_code == 302


def test_dashboard_permissions_and_errors(client, factory, login, rest_backend):
    learner = factory.learner(password=PASSWORD)
    staff = factory.course_staff()
    staff.set_password(PASSWORD)
    factory.exam("timed")
    db.session.commit()
    url = f"/api/edx_proctoring/v1/instructor/{COURSE_ID}"
    assert client.get(url).status_code == 401
    login(learner)
    assert client.get(url).status_code == 403
    login(staff)
    assert client.get(url).status_code == 404  # no proctored exam
    factory.exam("proctored", backend="rest")
    factory.exam("proctored", backend="mock")
    db.session.commit()
    mixed = client.get(url)
    assert mixed.status_code == 400 and "different proctoring providers" in mixed.json["detail"]


def test_retire_backend_user_reports_each_provider(client, factory, login, rest_backend):
    admin = factory.user("admin", password=PASSWORD, is_staff=True)
    learner = factory.learner()
    factory.attempt(factory.exam("proctored"), learner, "submitted", external_id="m1")
    db.session.commit()
    login(admin)
    url = f"/api/edx_proctoring/v1/retire_backend_user/{learner.id}/"
    ok = client.post(url)
    assert ok.status_code == 200 and ok.json == {"mock": True}

    factory.attempt(factory.exam("proctored", backend="rest"), learner, "submitted",
                    external_id="r1")
    db.session.commit()
    failed = client.post(url)
    assert failed.status_code == 500
    assert failed.json == {"mock": True, "rest": False}
    assert client.post("/api/edx_proctoring/v1/retire_backend_user/999999/").status_code == 404


def test_retire_user_blanks_data_for_global_staff_only(client, factory, login, now):
    learner = factory.learner(password=PASSWORD)
    attempt = factory.attempt(factory.exam("proctored"), learner, "submitted")
    db.session.add(Review(attempt_code=attempt.attempt_code, review_status="Clean",
                          raw_data='{"name": "Lea"}', student_id=learner.id, created=now,
                          modified=now))
    admin = factory.user("admin2", password=PASSWORD, is_staff=True)
    db.session.commit()
    url = f"/api/edx_proctoring/v1/retire_user/{learner.id}/"
    login(learner)
    assert client.post(url).status_code == 403
    login(admin)
    response = client.post(url)
    assert response.status_code == 204
    review = db.session.execute(select(Review)).scalar_one()
    assert review.raw_data == "" and review.review_status == "Clean"
