"""The dashboard shows times in the staff member's zone with UTC beside them: the zone the
browser reported in this session, else the one the account holds; UTC alone, labelled,
without either. Compact in tables ("Mar 10, 07:00 (12:00 UTC)"), the zone named once per
page; the date in the page's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from proctor_web.extensions import db
from proctor_web.models import AttemptHistory
from proctor_web.models import utcnow as app_now
from proctor_web.timezones import format_moment
from tests.instructor.conftest import page_url

#: The year the pages take for "this one" (compact times omit only its year): the formatting
#: clock is pinned to its middle below, so no zone is in another year whenever the suite runs.
YEAR = app_now().year
STARTED = datetime(YEAR, 3, 10, 10, 30, tzinfo=UTC)
COMPLETED = datetime(YEAR, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _mid_year(monkeypatch):
    monkeypatch.setattr("proctor_web.timezones.utcnow",
                        lambda: datetime(YEAR, 6, 15, 12, 0, tzinfo=UTC))


def _text(response) -> str:
    """The page, each ``<time>`` read as one string (its local and UTC parts are two spans,
    checked apart in ``test_a_time_breaks_between_its_parts``)."""
    page = response.get_data(as_text=True).replace("\u202f", " ")
    page = page.replace(' class="two-part"><span>', ">").replace("</span> <span>(", " (")
    return page.replace("</span></time>", "</time>")


def _cell(page: str, label: str, row_of: str) -> str:
    """The ``label`` cell of the table row that names ``row_of``."""
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if f">{row_of}</a>" in r)
    return re.search(rf'data-label="{label}">(.*?)</td>', row, re.S)[1]


@pytest.fixture
def timed_attempt(dash):
    """learner1's attempt at known times, with two history rows (one across UTC midnight)."""
    attempt = dash.submitted
    attempt.started_at, attempt.completed_at = STARTED, COMPLETED
    common = {"attempt_id": attempt.id, "attempt_code": attempt.attempt_code,
              "user_id": dash.learner.id, "exam_id": attempt.exam_id, "actor_kind": "learner"}
    db.session.add_all([
        AttemptHistory(action="start", from_status="ready_to_start", to_status="started",
                       created_at=STARTED, **common),
        AttemptHistory(action="submit", from_status="started", to_status="submitted",
                       created_at=datetime(YEAR, 3, 11, 2, 15, tzinfo=UTC), **common),
    ])
    db.session.commit()
    return attempt


def _staff_in(dash, zone: str | None, locale: str = "en"):
    dash.staff.time_zone, dash.staff.locale = zone, locale
    db.session.commit()
    return dash.staff


def test_attempts_list_shows_the_accounts_zone_with_utc_beside(dash, timed_attempt, login_as,
                                                                client):
    login_as(_staff_in(dash, "America/Bogota"))
    page = _text(client.get(page_url(dash.course_id, "attempts")))
    assert "Times are in Colombia Time, with UTC in brackets." in page
    assert _cell(page, "Started", "learner1") == (
        f'<time datetime="{YEAR}-03-10T10:30:00Z">Mar 10, 05:30 (10:30 UTC)</time>')
    assert _cell(page, "Completed", "learner1") == (
        f'<time datetime="{YEAR}-03-10T12:00:00Z">Mar 10, 07:00 (12:00 UTC)</time>')
    # The page loads again once the browser says its zone (timezone.js looks for this mark).
    assert re.search(r'id="dash-zone" data-local-time', page)


def test_the_sessions_zone_wins_over_the_accounts(dash, timed_attempt, login_as, client):
    login_as(_staff_in(dash, "America/Bogota"))
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code == 204
    page = _text(client.get(page_url(dash.course_id, "attempts")))
    assert "Times are in Spain (Madrid) Time, with UTC in brackets." in page
    assert ">Mar 10, 13:00 (12:00 UTC)</time>" in _cell(page, "Completed", "learner1")


def test_without_a_zone_the_list_says_utc_alone(dash, timed_attempt, login_as, client):
    login_as(_staff_in(dash, None))
    page = _text(client.get(page_url(dash.course_id, "attempts")))
    assert "Times are in UTC." in page and "with UTC in brackets" not in page
    assert _cell(page, "Completed", "learner1") == (
        f'<time datetime="{YEAR}-03-10T12:00:00Z">Mar 10, 12:00 UTC</time>')
    detail = _text(client.get(page_url(dash.course_id, f"attempts/{timed_attempt.id}")))
    started = re.search(r"<dt>Started</dt><dd>(.*?)</dd>", detail)[1]
    assert started == f'<time datetime="{YEAR}-03-10T10:30:00Z">Mar 10, {YEAR}, 10:30 AM UTC</time>'
    assert f'datetime="{YEAR}-03-10T10:30:00Z">Mar 10, 10:30 UTC</time>' in detail  # timeline


def test_attempt_detail_names_the_zone_and_its_timeline_crosses_utc_midnight(
        dash, timed_attempt, login_as, client):
    login_as(_staff_in(dash, "America/Bogota"))
    page = _text(client.get(page_url(dash.course_id, f"attempts/{timed_attempt.id}")))
    started = re.search(r"<dt>Started</dt><dd>(.*?)</dd>", page)[1]
    assert started == (f'<time datetime="{YEAR}-03-10T10:30:00Z">Mar 10, {YEAR}, 5:30 AM '
                       "Colombia Time (10:30 UTC)</time>")
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)[1]
    assert f'<time datetime="{YEAR}-03-10T10:30:00Z">Mar 10, 05:30 (10:30 UTC)</time>' in timeline
    # 21:15 on the 10th in Bogota is the 11th in UTC: the UTC part says which day.
    assert (f'<time datetime="{YEAR}-03-11T02:15:00Z">Mar 10, 21:15 (Mar 11, 02:15 UTC)'
            "</time>") in timeline


def test_spanish_pages_have_spanish_dates(dash, timed_attempt, login_as, client):
    login_as(_staff_in(dash, "America/Bogota", "es"))
    page = _text(client.get(page_url(dash.course_id, "attempts") + "?lang=es"))
    assert "Las horas están en hora de Colombia, con UTC entre paréntesis." in page
    assert _cell(page, "Completado", "learner1").endswith(">10 mar, 07:00 (12:00 UTC)</time>"), \
        _cell(page, "Completado", "learner1")
    detail = _text(client.get(page_url(dash.course_id, f"attempts/{timed_attempt.id}")))
    assert f">10 mar {YEAR}, 5:30 hora de Colombia (10:30 UTC)</time>" in detail
    assert ">10 mar, 21:15 (11 mar, 02:15 UTC)</time>" in detail
    login_as(_staff_in(dash, None, "es"))
    page = _text(client.get(page_url(dash.course_id, "attempts") + "?lang=es"))
    assert "Las horas están en UTC." in page
    assert ">10 mar, 12:00 UTC</time>" in page


def test_another_years_time_says_its_year(dash, timed_attempt, login_as, client):
    timed_attempt.completed_at = datetime(YEAR - 1, 12, 31, 23, 30, tzinfo=UTC)
    db.session.commit()
    login_as(_staff_in(dash, "America/Bogota"))
    page = _text(client.get(page_url(dash.course_id, "attempts")))
    assert _cell(page, "Completed", "learner1").endswith(
        f">Dec 31, {YEAR - 1}, 18:30 (23:30 UTC)</time>")


def test_a_time_breaks_between_its_parts(dash, timed_attempt, login_as, client):
    """A narrow column wraps "Mar 10, 05:30" / "(10:30 UTC)", not inside either."""
    login_as(_staff_in(dash, "America/Bogota"))
    page = client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True)
    assert (f'<time datetime="{YEAR}-03-10T10:30:00Z" class="two-part"><span>Mar 10, 05:30</span> '
            "<span>(10:30 UTC)</span></time>") in page
    login_as(_staff_in(dash, None))
    page = client.get(page_url(dash.course_id, "attempts")).get_data(as_text=True)
    assert f'<time datetime="{YEAR}-03-10T10:30:00Z">Mar 10, 10:30 UTC</time>' in page


def test_unset_times_are_a_dash(dash, login_as, client):
    login_as(_staff_in(dash, "America/Bogota"))
    page = _text(client.get(page_url(dash.course_id, "attempts")))
    assert _cell(page, "Completed", "learner2") == '<span class="muted">—</span>'


def test_other_dashboard_pages_show_local_times(dash, login_as, client):
    dash.proctored.due_date = datetime(YEAR, 12, 24, 17, 0, tzinfo=UTC)
    db.session.commit()
    login_as(_staff_in(dash, "America/Bogota"))
    pages = {rest: _text(client.get(page_url(dash.course_id, rest))) for rest in (
        "", "exams", "onboarding", "roster", "allowances", f"attempts/{dash.submitted.id}/review")}
    for rest, page in pages.items():
        assert "Times are in Colombia Time, with UTC in brackets." in page, rest
        assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page), rest  # the old form
    for rest in ("", "exams"):  # the overview's and the exam list's due dates
        assert f'<time datetime="{YEAR}-12-24T17:00:00Z">Dec 24, 12:00 (17:00 UTC)</time>' in (
            pages[rest]), rest
    since = r'data-label="Since"><time datetime="[^"]+Z">\w{3} \d+, (\d{4}, )?\d\d:\d\d \('
    assert re.search(since, pages["roster"])


def test_the_due_date_field_keeps_utc_and_shows_the_local_equivalent_beside(
        dash, login_as, client):
    dash.proctored.due_date = datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)
    db.session.commit()
    login_as(_staff_in(dash, "America/Bogota"))
    form = _text(client.get(page_url(dash.course_id, f"exams/{dash.proctored.id}/edit")))
    assert "Due date and time (UTC, optional)" in form
    field = re.search(r'<input id="due_date"[^>]*>', form)[0]
    assert 'value="2026-12-24T23:59:59"' in field
    assert 'aria-describedby="due_date-local"' in field
    hint = re.search(r'<p class="hint" id="due_date-local">(.*?)</p>', form)[1]
    assert hint.startswith("Saved due date in your time zone: ")
    assert "Dec 24, 2026, 6:59 PM Colombia Time (23:59 UTC)" in hint
    # Without a zone the label already says it all: no hint.
    login_as(_staff_in(dash, None))
    form = _text(client.get(page_url(dash.course_id, f"exams/{dash.proctored.id}/edit")))
    assert "due_date-local" not in form


def test_the_json_api_keeps_iso_utc_whatever_the_zone(dash, timed_attempt, login_as, client):
    login_as(_staff_in(dash, "America/Bogota"))
    assert client.post("/timezone", data={"timezone": "Europe/Madrid"}).status_code == 204
    body = client.get("/api/edx_proctoring/v1/proctored_exam/attempt/grouped/course_id/"
                      f"{dash.course_id}").get_json()
    row = next(r for r in body["proctored_exam_attempts"] if r["id"] == timed_attempt.id)
    assert (row["started_at"], row["completed_at"]) == (
        f"{YEAR}-03-10T10:30:00Z", f"{YEAR}-03-10T12:00:00Z")


@pytest.mark.parametrize("locale,expected", [
    ("en", "Mar 10, 07:00 (12:00 UTC)"),
    ("es", "10 mar, 07:00 (12:00 UTC)"),
])
def test_format_moment_compact(app, locale, expected):
    with app.app_context():
        assert format_moment(COMPLETED, "America/Bogota", locale, "compact") == expected
        assert format_moment(COMPLETED, None, locale, "compact").endswith("12:00 UTC")
        assert format_moment(COMPLETED, "Nowhere/Else", locale, "compact").endswith(
            "12:00 UTC")
