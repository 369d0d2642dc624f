"""The REST contract's inbound side: token endpoint, ``ready`` and ``reviewed`` callbacks."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, Review, ReviewComment, ReviewHistory, WebhookReceipt
from proctor_web.services import attempts
from proctor_web.services.attempts import Actor

PREFIX = "/api/edx_proctoring/v1/proctored_exam/attempt"


def _auth(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def attempt(factory):
    learner = factory.learner()
    exam = factory.exam("proctored")  # on the mock backend
    attempt = factory.attempt(exam, learner, "created", external_id="ext-1")
    db.session.commit()  # as a real request would find it (a refused one rolls back)
    return attempt


@pytest.fixture
def submitted(factory):
    learner = factory.learner()
    exam = factory.exam("proctored")
    attempt = factory.attempt(exam, learner, "submitted", external_id="ext-2",
                              started_minutes_ago=30)
    db.session.commit()
    return attempt


# Token endpoint ---------------------------------------------------------------------------


def test_token_endpoint_refuses_wrong_credentials(client, provider_token):
    provider_token("mock")
    wrong = client.post("/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "mock-client", "client_secret": "x"})
    assert wrong.status_code == 401
    assert wrong.json["error"] == "invalid_client" and wrong.json["detail"]
    grant = client.post("/oauth2/access_token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json["error"] == "unsupported_grant_type"


def test_token_endpoint_accepts_http_basic(client, provider_token):
    from tests.webhooks.conftest import SECRETS

    provider_token("mock")
    basic = base64.b64encode(f"mock-client:{SECRETS['mock']}".encode()).decode()
    response = client.post("/oauth2/access_token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer" and response.json["expires_in"] == 3600


# ready ------------------------------------------------------------------------------------


def test_ready_moves_the_attempt_and_a_repeat_is_a_no_op(client, attempt, provider_token):
    token = provider_token("mock")
    first = client.post(f"{PREFIX}/ext-1/ready", json={"status": "ready"}, headers=_auth(token))
    assert first.status_code == 200 and first.headers["X-Proctor-Duplicate"] == "false"
    assert db.session.get(Attempt, attempt.id).status == "ready_to_start"
    rows = len(attempts.history_of(attempt.id))

    again = client.post(f"{PREFIX}/ext-1/ready", json={"status": "ready"},
                        headers=_auth(token, "JWT"))
    assert again.status_code == 200 and again.headers["X-Proctor-Duplicate"] == "true"
    assert len(attempts.history_of(attempt.id)) == rows


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
    ({"Authorization": "Basic abc"}, 401),
])
def test_ready_without_a_valid_token_is_refused(client, attempt, headers, status):
    response = client.post(f"{PREFIX}/ext-1/ready", json={"status": "ready"}, headers=headers)
    assert response.status_code == status and response.json["detail"]
    assert db.session.get(Attempt, attempt.id).status == "created"


def test_token_of_another_backend_is_refused(client, attempt, provider_token):
    response = client.post(f"{PREFIX}/ext-1/ready", json={},
                           headers=_auth(provider_token("null")))
    assert response.status_code == 403
    assert "another proctoring provider" in response.json["detail"]
    assert db.session.get(Attempt, attempt.id).status == "created"


def test_deactivated_client_token_stops_working(client, attempt, provider_token):
    from proctor_web.models import OAuthClient

    token = provider_token("mock")
    db.session.execute(select(OAuthClient)).scalar_one().is_active = False
    db.session.commit()
    response = client.post(f"{PREFIX}/ext-1/ready", json={}, headers=_auth(token))
    assert response.status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"status": "done"}'])
def test_malformed_ready_body(client, attempt, provider_token, body):
    response = client.post(f"{PREFIX}/ext-1/ready", data=body,
                           headers={**_auth(provider_token()), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["detail"]
    assert db.session.get(Attempt, attempt.id).status == "created"
    assert _count(WebhookReceipt) == 0


def test_unknown_attempt(client, provider_token):
    response = client.post(f"{PREFIX}/nope/ready", json={}, headers=_auth(provider_token()))
    assert response.status_code == 404


# reviewed ---------------------------------------------------------------------------------


def test_reviewed_verifies_and_a_duplicate_is_a_no_op(client, submitted, provider_token):
    token = provider_token()
    body = {"status": "passed", "comments": [], "reviewed_by": None}
    first = client.post(f"{PREFIX}/ext-2/reviewed", json=body, headers=_auth(token))
    assert first.status_code == 200, first.json
    assert first.headers["X-Proctor-Attempt-Status"] == "verified"
    again = client.post(f"{PREFIX}/ext-2/reviewed", json=body, headers=_auth(token))
    assert again.status_code == 200 and again.headers["X-Proctor-Duplicate"] == "true"
    assert _count(Review) == 1
    assert [h.to_status for h in attempts.history_of(submitted.id)][-1] == "verified"
    assert len(attempts.history_of(submitted.id)) == 1  # the factory wrote none; one verify


@pytest.mark.parametrize("body", [
    {"status": "great"},
    {"status": "passed", "comments": "none"},
    {"comments": []},
])
def test_malformed_review_is_refused_and_nothing_stored(client, submitted, provider_token, body):
    response = client.post(f"{PREFIX}/ext-2/reviewed", json=body, headers=_auth(provider_token()))
    assert response.status_code == 400 and response.json["detail"]
    assert _count(Review) == 0 and _count(WebhookReceipt) == 0
    assert db.session.get(Attempt, submitted.id).status == "submitted"


def test_review_without_token_or_for_another_backend(client, submitted, provider_token):
    body = {"status": "passed"}
    assert client.post(f"{PREFIX}/ext-2/reviewed", json=body).status_code == 401
    other = client.post(f"{PREFIX}/ext-2/reviewed", json=body,
                        headers=_auth(provider_token("null")))
    assert other.status_code == 403
    assert _count(Review) == 0


def test_review_update_refused_when_updates_are_off(app, client, submitted, provider_token,
                                                    monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_REVIEW_UPDATES", False)
    token = provider_token()
    assert client.post(f"{PREFIX}/ext-2/reviewed", json={"status": "suspicious"},
                       headers=_auth(token)).status_code == 200
    update = client.post(f"{PREFIX}/ext-2/reviewed", json={"status": "passed"},
                         headers=_auth(token))
    assert update.status_code == 400 and "already exists" in update.json["detail"]
    assert db.session.execute(select(Review)).scalar_one().review_status == "Suspicious"
    assert db.session.get(Attempt, submitted.id).status == "second_review_required"


def test_review_update_keeps_history_and_appends_comments(client, submitted, provider_token):
    token = provider_token()
    first = {"status": "suspicious", "comments": [{"comment": "away", "status": "suspicious"}]}
    second = {"status": "passed", "comments": [{"comment": "fine after all", "status": "ok"}]}
    assert client.post(f"{PREFIX}/ext-2/reviewed", json=first,
                       headers=_auth(token)).status_code == 200
    response = client.post(f"{PREFIX}/ext-2/reviewed", json=second, headers=_auth(token))
    assert response.status_code == 200 and response.get_json() == "OK"
    assert db.session.execute(select(Review)).scalar_one().review_status == "Clean"
    (history,) = db.session.execute(select(ReviewHistory)).scalars().all()
    assert history.review_status == "Suspicious" and history.action == "update"
    comments = db.session.execute(select(ReviewComment.comment).order_by(ReviewComment.id))
    assert comments.scalars().all() == ["away", "fine after all"]
    assert db.session.get(Attempt, submitted.id).status == "verified"


def test_review_of_an_archived_attempt_is_stored_without_an_attempt(
    client, factory, submitted, provider_token, now
):
    code, attempt_id = submitted.attempt_code, submitted.id
    attempts.remove_attempt(submitted, Actor.system("test"), now, "reset by staff")
    db.session.commit()
    response = client.post(f"{PREFIX}/ext-2/reviewed", json={"status": "violation"},
                           headers=_auth(provider_token()))
    assert response.status_code == 200, response.json
    assert "X-Proctor-Attempt-Status" not in response.headers
    review = db.session.execute(select(Review)).scalar_one()
    assert review.attempt_code == code and review.is_attempt_active is False
    assert review.review_status == "Rules Violation"
    assert db.session.get(Attempt, attempt_id) is None


def test_review_for_an_exam_no_longer_proctored_is_412(client, submitted, provider_token):
    submitted.exam.is_proctored = False
    db.session.commit()
    response = client.post(f"{PREFIX}/ext-2/reviewed", json={"status": "passed"},
                           headers=_auth(provider_token()))
    assert response.status_code == 412 and "no longer proctored" in response.json["detail"]
    assert _count(Review) == 0
