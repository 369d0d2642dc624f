"""The REST provider contract where a provider depends on edx-proctoring 6.1.4's behaviour,
against the fake provider running as a real process: staff removal waits for the provider's
DELETE, and an exam switched to timed is withdrawn at the provider."""

from __future__ import annotations

from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Attempt, ProviderEvent, utcnow
from proctor_web.services import courses, exam_sync, exams, outbox
from tests.conftest import make_sign_in
from tests.integration.test_rest_provider_e2e import (  # noqa: F401  (fixtures)
    COURSE,
    Live,
    _create_attempt,
    control,
    end_read,
    live,
    provider_state,
    provider_url,
)

API = "/api/edx_proctoring/v1/proctored_exam"


@pytest.fixture
def staff_client(live: Live):  # noqa: F811
    """A test client of the live app, signed in as course staff, with its CSRF token."""
    staff = courses.create_user("sam", "sam-password-1", utcnow(), email="sam@example.org",
                                full_name="Sam Staff")
    courses.enroll(staff, COURSE, utcnow(), role="staff")
    db.session.commit()
    client = live.app.test_client()
    make_sign_in(live.app, client)(staff)
    token = client.get("/csrf/api/v1/token").json["csrfToken"]
    g.pop("_login_user", None)
    return client, token


def _request(client_and_token, method: str, url: str, **kwargs: Any):
    client, token = client_and_token
    end_read()
    g.pop("_login_user", None)
    response = client.open(url, method=method, headers={"X-CSRFToken": token}, **kwargs)
    end_read()
    return response


def _attempt_exists(attempt_id: int) -> bool:
    end_read()
    return db.session.get(Attempt, attempt_id) is not None


# Removal ----------------------------------------------------------------------------------


def test_staff_delete_asks_the_provider_first(live, staff_client):  # noqa: F811
    attempt = _create_attempt(live)
    external_id, attempt_id = attempt.external_id, attempt.id
    assert external_id in provider_state(live.provider_url)["attempts"]

    response = _request(staff_client, "DELETE", f"{API}/attempt/{attempt_id}")
    assert response.status_code == 200, response.json
    assert not _attempt_exists(attempt_id)
    assert external_id not in provider_state(live.provider_url)["attempts"]
    # The outbox keeps the removal as delivered: nothing is sent a second time.
    event = db.session.execute(select(ProviderEvent)).scalar_one()
    assert (event.kind, event.status) == ("remove", "delivered")
    assert outbox.deliver_pending(utcnow()) == 0


def test_a_provider_that_no_longer_knows_the_attempt_counts_as_removed(
    live, staff_client  # noqa: F811
):
    attempt = _create_attempt(live)
    attempt_id = attempt.id
    control(live.provider_url, "reset")  # the provider forgot everything: DELETE gets 404
    response = _request(staff_client, "DELETE", f"{API}/attempt/{attempt_id}")
    assert response.status_code == 200, response.json
    assert not _attempt_exists(attempt_id)


@pytest.mark.parametrize("mode", ["error500", "hang"])
def test_a_provider_failing_the_delete_keeps_the_attempt_and_answers_502(
    live, staff_client, mode  # noqa: F811
):
    attempt = _create_attempt(live)
    external_id, attempt_id = attempt.external_id, attempt.id
    control(live.provider_url, "config", {"FAIL_MODE": mode, "HANG_SECONDS": 3})
    response = _request(staff_client, "DELETE", f"{API}/attempt/{attempt_id}")
    assert response.status_code == 502
    assert "Nothing was removed" in response.json["detail"]
    assert _attempt_exists(attempt_id)
    assert db.session.execute(select(ProviderEvent)).first() is None
    control(live.provider_url, "config", {"FAIL_MODE": None})
    assert external_id in provider_state(live.provider_url)["attempts"]


def test_reset_attempts_waits_for_the_provider_too(live, staff_client):  # noqa: F811
    attempt = _create_attempt(live)
    attempt_id, learner_id = attempt.id, live.learner_id
    url = f"{API}/exam_id/{live.exam_id}/user_id/{learner_id}/reset_attempts"
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    assert _request(staff_client, "DELETE", url).status_code == 502
    assert _attempt_exists(attempt_id)
    control(live.provider_url, "config", {"FAIL_MODE": None})
    assert _request(staff_client, "DELETE", url).status_code == 200
    assert not _attempt_exists(attempt_id)


def test_dashboard_reset_shows_the_provider_failure_and_keeps_the_attempt(
    live, staff_client  # noqa: F811
):
    attempt = _create_attempt(live)
    attempt_id = attempt.id
    url = f"/courses/{COURSE}/instructor/attempts/{attempt_id}/reset"
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    response = _request(staff_client, "POST", url, data={"reason": "fresh start"})
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "notice-error" in page and "did not confirm deleting its record" in page
    assert _attempt_exists(attempt_id)

    control(live.provider_url, "config", {"FAIL_MODE": None})
    response = _request(staff_client, "POST", url, data={"reason": "fresh start"})
    assert response.status_code == 302
    assert not _attempt_exists(attempt_id)


def test_dashboard_reset_without_a_reason_never_reaches_the_provider(
    live, staff_client  # noqa: F811
):
    attempt = _create_attempt(live)
    external_id, attempt_id = attempt.external_id, attempt.id
    url = f"/courses/{COURSE}/instructor/attempts/{attempt_id}/reset"
    response = _request(staff_client, "POST", url, data={"reason": ""})
    assert response.status_code == 400
    assert _attempt_exists(attempt_id)
    assert external_id in provider_state(live.provider_url)["attempts"]


# Proctored -> timed ------------------------------------------------------------------------


def test_switching_to_timed_withdraws_the_exam_at_the_provider(live):  # noqa: F811
    exam = live.exam()
    external_id = exam.external_id
    assert provider_state(live.provider_url)["exams"][external_id]["is_proctored"] is True
    exams.update_exam(exam, {"is_proctored": False}, None, utcnow())
    db.session.commit()
    assert exam_sync.sync_exams(utcnow()) == (1, 0)  # the background push
    pushed = provider_state(live.provider_url)["exams"][external_id]
    assert (pushed["is_proctored"], pushed["is_active"]) == (False, False)
    assert live.exam().is_active is True  # only the provider's copy is inactive


def test_a_withdrawal_missed_during_an_outage_is_sent_by_the_sweep(live):  # noqa: F811
    exam = live.exam()
    external_id = exam.external_id
    control(live.provider_url, "config", {"FAIL_MODE": "error500"})
    exams.update_exam(exam, {"is_proctored": False}, None, utcnow())
    db.session.commit()
    assert exam_sync.sync_exams(utcnow()) == (0, 1)  # the background push fails
    control(live.provider_url, "config", {"FAIL_MODE": None})
    assert provider_state(live.provider_url)["exams"][external_id]["is_proctored"] is True
    end_read()
    assert exam_sync.sync_exams(utcnow()) == (1, 0)
    db.session.commit()
    pushed = provider_state(live.provider_url)["exams"][external_id]
    assert (pushed["is_proctored"], pushed["is_active"]) == (False, False)
    assert exam_sync.sync_exams(utcnow()) == (0, 0)  # once is enough
