"""Provider callbacks as edx-proctoring 6.1.4 answers them: the ``"OK"`` body, and a passing
review of an attempt that was never submitted turning it into ``error`` (edx >= 6.1.2)."""

from __future__ import annotations

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt
from proctor_web.services import attempts
from tests.webhooks.test_rpnow_callbacks import payload, post_signed, rpnow_backend  # noqa: F401

PREFIX = "/api/edx_proctoring/v1/proctored_exam/attempt"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


@pytest.fixture
def rest_attempt(factory):
    """``rest_attempt(status)``: a mock-provider (REST contract) attempt in ``status``."""

    def _make(status: str, external_id: str = "ext-edx") -> Attempt:
        started = 5 if status in ("started", "ready_to_submit", "submitted") else None
        attempt = factory.attempt(factory.exam("proctored"), factory.learner(), status,
                                  external_id=external_id, started_minutes_ago=started)
        db.session.commit()
        return attempt

    return _make


@pytest.fixture
def rpnow_attempt(factory, rpnow_backend):  # noqa: F811
    def _make(status: str, locator: str = "LOC-77") -> Attempt:
        started = 5 if status in ("started", "ready_to_submit", "submitted") else None
        exam = factory.exam("proctored", backend="software_secure")
        attempt = factory.attempt(exam, factory.learner(), status, external_id=locator,
                                  started_minutes_ago=started)
        db.session.commit()
        return attempt

    return _make


# "OK" -------------------------------------------------------------------------------------


def test_ready_callback_answers_ok(client, rest_attempt, provider_token):
    attempt = rest_attempt("created")
    token = provider_token("mock")
    response = client.post(f"{PREFIX}/ext-edx/ready", json={"status": "ready"},
                           headers=_auth(token))
    assert response.status_code == 200
    assert response.get_json() == "OK"
    assert response.headers["X-Proctor-Duplicate"] == "false"
    assert db.session.get(Attempt, attempt.id).status == "ready_to_start"
    again = client.post(f"{PREFIX}/ext-edx/ready", json={"status": "ready"},
                        headers=_auth(token))
    assert again.status_code == 200 and again.get_json() == "OK"
    assert again.headers["X-Proctor-Duplicate"] == "true"


def test_reviewed_callback_answers_ok(client, rest_attempt, provider_token):
    attempt = rest_attempt("submitted")
    response = client.post(f"{PREFIX}/ext-edx/reviewed", json={"status": "passed"},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 200
    assert response.get_json() == "OK"
    assert response.headers["X-Proctor-Attempt-Status"] == "verified"
    assert db.session.get(Attempt, attempt.id).status == "verified"


def test_rpnow_review_callback_answers_ok(client, rpnow_attempt, rpnow_backend):  # noqa: F811
    attempt = rpnow_attempt("submitted")
    response = post_signed(client, payload(attempt.attempt_code, locator="loc-77"))
    assert response.status_code == 200
    assert response.get_json() == "OK"
    assert db.session.get(Attempt, attempt.id).status == "verified"


def test_refusals_still_explain_themselves(client, rest_attempt, provider_token):
    rest_attempt("submitted")
    response = client.post(f"{PREFIX}/ext-edx/reviewed", json={"status": "great"},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 400 and response.json["detail"]


# A passing review of work never handed in ------------------------------------------------


@pytest.mark.parametrize("status", ["created", "download_software_clicked", "ready_to_start",
                                    "started", "ready_to_submit"])
def test_rest_passing_review_of_an_unsubmitted_attempt_is_an_error(
    client, rest_attempt, provider_token, status
):
    attempt = rest_attempt(status)
    response = client.post(f"{PREFIX}/ext-edx/reviewed", json={"status": "passed"},
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 200, response.json
    assert db.session.get(Attempt, attempt.id).status == "error"
    last = attempts.history_of(attempt.id)[-1]
    assert (last.from_status, last.to_status, last.actor_kind, last.ignored) == (
        status, "error", "provider", False)
    assert "passed" in last.reason


@pytest.mark.parametrize("status", ["created", "ready_to_start", "started"])
@pytest.mark.parametrize("review_status", ["Clean", "Rules Violation"])  # both pass on RPNow
def test_rpnow_passing_review_of_an_unsubmitted_attempt_is_an_error(
    client, rpnow_attempt, rpnow_backend, status, review_status  # noqa: F811
):
    attempt = rpnow_attempt(status)
    response = post_signed(client, payload(attempt.attempt_code, locator="loc-77",
                                           status=review_status))
    assert response.status_code == 200, response.json
    assert db.session.get(Attempt, attempt.id).status == "error"
    last = attempts.history_of(attempt.id)[-1]
    assert (last.from_status, last.to_status) == (status, "error")


def test_a_passing_review_of_a_submitted_attempt_still_verifies(
    client, rest_attempt, provider_token
):
    attempt = rest_attempt("submitted")
    client.post(f"{PREFIX}/ext-edx/reviewed", json={"status": "passed"},
                headers=_auth(provider_token("mock")))
    assert db.session.get(Attempt, attempt.id).status == "verified"


@pytest.mark.parametrize(("review", "expected"), [
    ({"status": "suspicious"}, "second_review_required"),
    ({"status": "violation", "reviewed_by": "reviewer@example.com"}, "rejected"),
    ({"status": "not_reviewed"}, "error"),
])
def test_a_failing_review_of_an_unsubmitted_attempt_takes_effect_as_in_edx(
    client, factory, rest_attempt, provider_token, review, expected
):
    factory.user("reviewer", email="reviewer@example.com", is_staff=True)
    attempt = rest_attempt("started")
    response = client.post(f"{PREFIX}/ext-edx/reviewed", json=review,
                           headers=_auth(provider_token("mock")))
    assert response.status_code == 200, response.json
    stored = db.session.get(Attempt, attempt.id)
    assert stored.status == expected
    assert stored.completed_at is not None
    assert attempts.history_of(attempt.id)[-1].ignored is False
