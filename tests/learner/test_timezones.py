"""Times in the learner's time zone, with UTC beside them; the browser says which zone, and
the account keeps the last one reported for the emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from proctor_web.extensions import db
from proctor_web.models import User
from proctor_web.timezones import format_moment, local_time

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


def _stored_zone(user_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(User, user_id).time_zone


def test_the_reported_zone_is_kept_on_the_account(setup, sign_in, client):
    learner, _ = setup
    sign_in(learner)
    assert _stored_zone(learner.id) is None
    assert 'data-stored-timezone="" id' in _text(client.get("/"))
    assert client.post("/timezone", data={"timezone": "America/Bogota"}).status_code == 204
    assert _stored_zone(learner.id) == "America/Bogota"
    # The page tells the script which zone the account holds, so another device's report
    # is replaced by this browser's own.
    assert 'data-stored-timezone="America/Bogota" id' in _text(client.get("/"))
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code == 204
    assert _stored_zone(learner.id) == "Europe/Madrid"


def test_the_same_zone_again_writes_nothing(setup, sign_in, client, count_queries):
    learner, _ = setup
    sign_in(learner)
    assert client.post("/timezone", data={"timezone": "America/Bogota"}).status_code == 204
    with count_queries() as counter:
        assert client.post("/timezone", data={"timezone": "America/Bogota"}).status_code == 204
    writes = [s for s in counter.statements
              if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == []
    assert _stored_zone(learner.id) == "America/Bogota"


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../etc/passwd", "x" * 100])
def test_an_unknown_zone_is_a_400_with_a_detail(setup, sign_in, client, zone):
    sign_in(setup[0])
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code == 204
    response = client.post("/timezone", data={"timezone": zone},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "Unknown time zone." in response.get_data(as_text=True)
    assert _stored_zone(setup[0].id) == "Europe/Madrid"  # nothing stored, nothing lost
    assert 'data-timezone="Europe/Madrid"' in _text(client.get("/"))


def test_signed_out_people_cannot_set_a_zone(client):
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code in (302, 401)


def test_local_time_without_a_request_is_utc(app):
    with app.app_context():
        assert local_time(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)).endswith("UTC")


def test_format_moment_needs_no_request_and_takes_zone_and_language(app):
    moment = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    with app.app_context():
        assert format_moment(moment, "America/Bogota", "es").replace("\u202f", " ") == (
            "24 de diciembre de 2026, 12:00 hora de Colombia (17:00 UTC)")
        assert format_moment(moment, "America/Bogota", "en").replace("\u202f", " ") == (
            "December 24, 2026, 12:00 PM Colombia Time (17:00 UTC)")
        assert format_moment(moment, None, "es") == "24 de diciembre de 2026, 17:00:00 UTC"
        assert format_moment(moment, "Nowhere/Else", "en").endswith("5:00:00\u202fPM UTC")
        assert format_moment(None, "America/Bogota") == ""
