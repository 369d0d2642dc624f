"""The RPNow launch link acts only on RPNow-proctored attempts that have not ended.

Learners see their own attempt code in every poll, so anything this anonymous link accepts
a learner can do to their own attempt: skip another provider's system check, or end a
running timed exam.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from proctor_web.backends.software_secure import LAUNCH_COOKIE
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory
from tests.webhooks import test_rpnow_callbacks

rpnow_backend = test_rpnow_callbacks.rpnow_backend  # the fixture, shared

LAUNCH = "/api/edx_proctoring/proctoring_launch_callback/start_exam/{}"


def _history_rows(attempt_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(AttemptHistory)
        .where(AttemptHistory.attempt_id == attempt_id)
    ).scalar_one()


def _refused_without_change(client, attempt: Attempt, method: str = "get") -> None:
    before_status, before_history = attempt.status, _history_rows(attempt.id)
    response = getattr(client, method)(LAUNCH.format(attempt.attempt_code))
    assert response.status_code == 404, response.data
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).status == before_status
    assert _history_rows(attempt.id) == before_history
    assert client.get_cookie(LAUNCH_COOKIE) is None


@pytest.mark.parametrize("status", ["created", "download_software_clicked"])
def test_a_mock_proctored_attempt_is_not_made_ready(client, factory, rpnow_backend, status):
    exam = factory.exam("proctored")  # the mock backend, with its own system check
    attempt = factory.attempt(exam, factory.learner(), status, external_id="ext-m")
    db.session.commit()
    _refused_without_change(client, attempt)


def test_a_running_timed_attempt_is_not_submitted(client, factory, rpnow_backend):
    exam = factory.exam("timed")
    attempt = factory.attempt(exam, factory.learner(), "started", started_minutes_ago=5)
    db.session.commit()
    _refused_without_change(client, attempt)
    _refused_without_change(client, attempt, "post")


def test_a_timed_exam_carrying_the_rpnow_name_is_not_touched(client, factory, rpnow_backend):
    # Timed exams keep a backend name (the default) but never talk to a provider.
    exam = factory.exam("timed", backend="software_secure")
    attempt = factory.attempt(exam, factory.learner(), "started", started_minutes_ago=5)
    db.session.commit()
    _refused_without_change(client, attempt)


def test_a_learner_who_declined_proctoring_is_not_touched(client, factory, rpnow_backend):
    exam = factory.exam("proctored", backend="software_secure")
    attempt = factory.attempt(exam, factory.learner(), "started", started_minutes_ago=5,
                              taking_as_proctored=False)
    db.session.commit()
    _refused_without_change(client, attempt)


@pytest.mark.parametrize("status", ["submitted", "verified", "rejected", "error", "declined"])
def test_an_ended_rpnow_attempt_is_not_touched(client, factory, rpnow_backend, status):
    exam = factory.exam("proctored", backend="software_secure")
    attempt = factory.attempt(exam, factory.learner(), status, external_id="LOC-9",
                              started_minutes_ago=30)
    db.session.commit()
    _refused_without_change(client, attempt)


def test_an_exam_whose_backend_is_no_longer_configured_is_not_touched(client, factory):
    exam = factory.exam("proctored")
    exam.backend = "retired_provider"  # removed from PROCTOR_BACKENDS since
    attempt = factory.attempt(exam, factory.learner(), "created", external_id="LOC-8")
    db.session.commit()
    _refused_without_change(client, attempt)


@pytest.mark.parametrize("status, expected", [
    ("created", "ready_to_start"),
    ("ready_to_start", "ready_to_start"),
    ("ready_to_submit", "submitted"),
])
def test_rpnow_attempts_still_launch(client, factory, rpnow_backend, status, expected):
    exam = factory.exam("proctored", backend="software_secure", content_url="/exam/page")
    attempt = factory.attempt(exam, factory.learner(), status, external_id="LOC-7",
                              started_minutes_ago=5 if status == "ready_to_submit" else None)
    db.session.commit()
    response = client.get(LAUNCH.format(attempt.attempt_code))
    assert response.status_code == 302 and response.headers["Location"] == "/exam/page"
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).status == expected
