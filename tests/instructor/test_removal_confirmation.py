"""Staff removal of an attempt whose provider keeps a record: only a provider answering
``{"status": "deleted"}`` (or 404, tested against the fake provider in tests/integration)
lets the attempt go; any other answer is a 502 that removes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from proctor_web.backends.null import NullBackend
from proctor_web.extensions import db
from proctor_web.models import Attempt, ProviderEvent
from tests.factories import COURSE_ID

API = "/api/edx_proctoring/v1/proctored_exam"


class RecordKeepingBackend(NullBackend):
    """A provider that keeps attempt records and answers the DELETE with ``answer``."""

    confirms_removal = True
    answer = True
    calls: list[tuple[str | None, str]] = []

    def remove_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> bool:
        self.calls.append((exam_external_id, attempt_external_id))
        return self.answer


@pytest.fixture
def keeping(app):
    registry = app.extensions["proctor_backends"]
    backend = RecordKeepingBackend("keeping", {})
    backend.calls = []
    registry._backends["keeping"] = backend
    yield backend
    registry._backends.pop("keeping", None)


@pytest.fixture
def setup(factory, keeping, login_as):
    staff = factory.course_staff()
    exam = factory.exam("proctored", backend="keeping", external_id="ex-k")
    attempt = factory.attempt(exam, factory.learner(), "submitted", external_id="att-k",
                              started_minutes_ago=10)
    db.session.commit()
    login_as(staff)
    return attempt


def test_an_answer_other_than_deleted_is_502_and_removes_nothing(client, setup, keeping):
    keeping.answer = False
    response = client.delete(f"{API}/attempt/{setup.id}")
    assert response.status_code == 502
    assert "did not answer 'deleted'" in response.json["detail"]
    assert keeping.calls == [("ex-k", "att-k")]
    assert db.session.get(Attempt, setup.id) is not None
    assert db.session.execute(select(ProviderEvent)).first() is None


def test_a_confirmed_removal_is_recorded_as_delivered(client, setup, keeping):
    response = client.delete(f"{API}/attempt/{setup.id}")
    assert response.status_code == 200
    assert db.session.get(Attempt, setup.id) is None
    event = db.session.execute(select(ProviderEvent)).scalar_one()
    assert (event.kind, event.status, event.attempt_external_id) == (
        "remove", "delivered", "att-k")
    assert keeping.calls == [("ex-k", "att-k")]  # asked once, not again by the outbox


def test_the_dashboard_flashes_the_refusal(client, setup, keeping):
    keeping.answer = False
    url = f"/courses/{COURSE_ID}/instructor/attempts/{setup.id}/reset"
    response = client.post(url, data={"reason": "start over"})
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "notice-error" in page and "Nothing was removed" in page
    assert db.session.get(Attempt, setup.id) is not None


def test_attempts_of_providers_without_records_are_removed_at_once(client, factory, login_as):
    staff = factory.course_staff()
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted",
                              external_id="m-1", started_minutes_ago=10)  # mock provider
    db.session.commit()
    login_as(staff)
    assert client.delete(f"{API}/attempt/{attempt.id}").status_code == 200
    event = db.session.execute(select(ProviderEvent)).scalar_one()
    assert (event.kind, event.status) == ("remove", "pending")  # left to the outbox
