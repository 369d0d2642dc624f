"""The course roster from the dashboard: add a learner, import a CSV (preview with per-row
errors, then all in one transaction), deactivate (ends the sessions) and enroll again; course
staff only; read-only for a course an LMS feeds."""

from __future__ import annotations

import io

import pytest
from flask import g
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import CourseMembership, User
from proctor_web.services import courses
from tests.conftest import SAME_SITE_FORM
from tests.instructor.conftest import page_url

CSV = "username,email,full name\nnew1,new1@example.com,New One\nlearner1,,\n"


def membership(username: str, course_id: str) -> CourseMembership | None:
    user = courses.find_user(username)
    return courses.membership_of(user, course_id) if user else None


def upload(client, course_id: str, text: str, step: str = "preview"):
    return client.post(page_url(course_id, "roster/import"), data={
        "step": step, "csv_file": (io.BytesIO(text.encode()), "class.csv")},
        content_type="multipart/form-data")


def test_roster_lists_members_with_their_state(dash, login_as, client):
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, "roster")).get_data(as_text=True)
    assert "learner1" in html and "teacher" in html and "outsider" not in html
    assert "Deactivate learner1" in html and "Deactivate teacher" not in html


def test_add_a_learner_creates_and_enrolls(dash, login_as, client, caplog):
    login_as(dash.staff)
    caplog.set_level("INFO", "proctor_web.services.dashboard.roster")
    answer = client.post(page_url(dash.course_id, "roster/add"), data={
        "username": "carol", "email": "carol@example.com", "full_name": "Carol C"})
    assert answer.status_code == 302
    assert membership("carol", dash.course_id).is_active
    assert courses.find_user("carol").full_name == "Carol C"
    assert "carol enrolled (new account, invited) by teacher" in caplog.text


@pytest.mark.parametrize("data, field, words", [
    ({"username": "bad name!"}, "username", "letters, digits"),
    ({"username": "dave", "email": "nope"}, "email", "is not an email address"),
    ({"username": "teacher"}, "username", "staff account"),
    ({"username": "learner1", "email": "other@example.com"}, "username", "another email"),
])
def test_add_refused_next_to_the_field(dash, login_as, client, data, field, words):
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, "roster/add"), data=data)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert f'id="{field}-error">' in html and words in html
    assert 'role="alert"' in html
    assert courses.find_user("dave") is None


def test_import_previews_then_saves_everything(dash, login_as, client):
    login_as(dash.staff)
    preview = upload(client, dash.course_id, CSV)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "1 new account(s) will be created and 1 existing account(s) enrolled" in html
    assert courses.find_user("new1") is None  # nothing saved by the preview
    assert 'name="csv_text" value="username,email,full name' in html
    saved = client.post(page_url(dash.course_id, "roster/import"),
                        data={"step": "import", "csv_text": CSV})
    assert saved.status_code == 302
    assert membership("new1", dash.course_id).is_active
    assert courses.find_user("new1").email == "new1@example.com"


def test_import_with_a_bad_row_saves_nothing(dash, login_as, client):
    login_as(dash.staff)
    bad = "ok1,ok1@example.com,Ok\nbad name,x@example.com,B\nok1,,Twice\nteacher,,\n"
    preview = upload(client, dash.course_id, bad)
    assert preview.status_code == 400
    html = preview.get_data(as_text=True)
    assert "Nothing was saved: 3 lines have problems." in html
    assert "The username may use letters" in html
    assert "The username is also on line 1." in html
    assert "teacher is a staff account." in html
    assert 'name="step" value="import"' not in html  # no import button
    # Posting the file straight to the import step is refused whole too.
    refused = client.post(page_url(dash.course_id, "roster/import"),
                          data={"step": "import", "csv_text": bad})
    assert refused.status_code == 400
    assert "Nothing was imported: 3 line(s) have problems" in refused.get_data(as_text=True)
    assert courses.find_user("ok1") is None


@pytest.mark.parametrize("content, words", [
    (b"", "Choose a CSV file"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"\n\n", "has no learners"),
])
def test_unreadable_files_are_refused_in_plain_words(dash, login_as, client, content, words):
    login_as(dash.staff)
    answer = client.post(page_url(dash.course_id, "roster/import"), data={
        "step": "preview", "csv_file": (io.BytesIO(content), "x.csv" if content else "")},
        content_type="multipart/form-data")
    assert answer.status_code == 400
    assert words in answer.get_data(as_text=True)


def test_deactivate_ends_sessions_and_enroll_again(dash, login_as, client, app):
    learner_client = app.test_client()
    from tests.conftest import make_sign_in
    make_sign_in(app, learner_client)(dash.learner)
    assert learner_client.get("/").status_code == 200
    token = dash.learner.session_token
    login_as(dash.staff)
    url = page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
    assert client.post(url, headers=SAME_SITE_FORM).status_code == 302
    user = db.session.get(User, dash.learner.id, populate_existing=True)
    assert user.session_token != token
    assert not membership("learner1", dash.course_id).is_active
    assert not user.is_active_account  # in no other course
    g.pop("_login_user", None)  # the tests share one app context: no cached user
    assert learner_client.get("/").status_code == 302  # signed out
    login_as(dash.staff)
    again = page_url(dash.course_id, f"roster/{dash.learner.id}/enroll")
    assert client.post(again, headers=SAME_SITE_FORM).status_code == 302
    assert membership("learner1", dash.course_id).is_active
    assert db.session.get(User, dash.learner.id, populate_existing=True).is_active_account


def test_an_account_in_another_course_stays_active(dash, login_as, client, now):
    courses.enroll(dash.learner, "course-v1:OtherX+O201+2026", now)
    db.session.commit()
    login_as(dash.staff)
    client.post(page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate"))
    assert db.session.get(User, dash.learner.id, populate_existing=True).is_active_account


def test_only_course_staff_and_never_staff_rows(dash, login_as, client):
    for user in (dash.other_staff, dash.learner):
        login_as(user)
        assert client.get(page_url(dash.course_id, "roster")).status_code == 403
        assert client.post(page_url(dash.course_id, "roster/add"),
                           data={"username": "x1"}).status_code == 403
    login_as(dash.staff)
    assert client.post(page_url(dash.course_id, f"roster/{dash.staff.id}/deactivate")
                       ).status_code == 404
    assert client.post(page_url(dash.course_id, f"roster/{dash.outsider.id}/deactivate")
                       ).status_code == 404
    assert courses.find_user("x1") is None


def test_lms_course_roster_is_read_only(dash, login_as, client):
    from proctor_web.services.courses import get_course
    get_course(dash.course_id).lti_context_id = "ctx-1"
    db.session.commit()
    login_as(dash.staff)
    html = client.get(page_url(dash.course_id, "roster")).get_data(as_text=True)
    assert "read-only" in html and "Add a learner" not in html and "Deactivate" not in html
    refused = client.post(page_url(dash.course_id, "roster/add"), data={"username": "zed"})
    assert refused.status_code == 403
    assert client.post(page_url(dash.course_id, f"roster/{dash.learner.id}/deactivate")
                       ).status_code == 403
    assert courses.find_user("zed") is None
    assert db.session.execute(select(CourseMembership).where(
        CourseMembership.user_id == dash.learner.id)).scalar_one().is_active


def test_forms_need_the_csrf_token(dash, login_as, client, app, monkeypatch):
    login_as(dash.staff)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    answer = client.post(page_url(dash.course_id, "roster/add"), data={"username": "eve"},
                         headers=SAME_SITE_FORM)
    assert answer.status_code == 400
    assert courses.find_user("eve") is None
