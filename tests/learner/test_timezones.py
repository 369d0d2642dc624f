"""Times in the learner's time zone, with UTC beside them; the browser says which zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from proctor_web.extensions import db
from proctor_web.timezones import local_time

ENCODED = "course-v1%3ATestX%2BT101%2B2026"


def _text(response) -> str:
    return response.get_data(as_text=True).replace("\u202f", " ")


@pytest.fixture
def setup(factory):
    factory.course()
    learner = factory.learner()
    exam = factory.exam("timed", content_id="timed-1",
                        due_date=datetime(2026, 12, 24, 17, 0, tzinfo=UTC))
    db.session.commit()
    return learner, exam


def test_the_zone_is_kept_in_the_session_and_pages_show_it_with_utc(setup, sign_in, client):
    learner, _ = setup
    sign_in(learner)
    page = _text(client.get(f"/courses/{ENCODED}/exams/timed-1"))
    assert 'data-timezone="UTC" data-csrf-token' in page
    assert "The exam is due December 24, 2026, 5:00:00 PM UTC." in page
    assert client.post("/timezone", data={"timezone": "America/Bogota"}).status_code == 204
    page = _text(client.get(f"/courses/{ENCODED}/exams/timed-1"))
    assert 'data-timezone="America/Bogota" data-csrf-token' in page
    assert re.search(r"The exam is due December 24, 2026, 12:00 PM Colombia Time \(17:00 UTC\)\.",
                     page), re.findall(r"due[^<]*", page)
    home = _text(client.get("/"))
    assert "Due Dec 24, 2026, 12:00 PM Colombia Time (17:00 UTC)" in home


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../etc/passwd", "x" * 100])
def test_an_unknown_zone_is_a_400_with_a_detail(setup, sign_in, client, zone):
    sign_in(setup[0])
    response = client.post("/timezone", data={"timezone": zone},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "Unknown time zone." in response.get_data(as_text=True)


def test_signed_out_people_cannot_set_a_zone(client):
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code in (302, 401)


def test_local_time_without_a_request_is_utc(app):
    with app.app_context():
        assert local_time(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)).endswith("UTC")
