"""Sign-in: the login form, safe redirects, CSRF, cookie flags, and refusals."""

from __future__ import annotations

import re

import pytest

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import courses
from tests.conftest import SAME_SITE_FORM, app_config


@pytest.fixture
def alice(factory):
    return factory.learner(username="alice", password="alice-password")


def test_login_page_has_the_form(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert 'type="password"' in html


def test_successful_login_redirects_home(client, alice):
    response = client.post("/login", data={"username": "alice", "password": "alice-password"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Signed in as alice" in home.get_data(as_text=True)


@pytest.mark.parametrize(
    "username, password, message",
    [
        ("alice", "wrong-password", "do not match an account"),
        ("nobody", "alice-password", "do not match an account"),
        ("", "", "Enter your username and your password"),
    ],
)
def test_failed_login(client, alice, username, password, message):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous


def test_inactive_account_cannot_sign_in(client, alice):
    alice.is_active_account = False
    db.session.flush()
    response = client.post("/login", data={"username": "alice", "password": "alice-password"})
    assert response.status_code == 400
    assert "inactive" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/courses/course-v1:X+Y+Z/exams/final?lang=es",
         "/courses/course-v1:X+Y+Z/exams/final?lang=es"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_redirect_only_to_this_site(client, alice, next_url, expected):
    response = client.post("/login", data={"username": "alice", "password": "alice-password",
                                           "next": next_url})
    assert response.headers["Location"] == expected


def test_anonymous_page_redirects_to_login_with_next(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_is_a_post(client, alice):
    client.post("/login", data={"username": "alice", "password": "alice-password"})
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/edx_proctoring/v1/nothing-here")
    assert response.status_code == 404
    assert "detail" in response.get_json()


def test_unknown_page_answers_html(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "We could not find that page" in response.get_data(as_text=True)


@pytest.fixture
def production_app(tmp_path):
    """CSRF on, not testing, not debug: how the app runs for real."""
    config = app_config(f"sqlite:///{tmp_path / 'prod.sqlite3'}", TESTING=False,
                        WTF_CSRF_ENABLED=True)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        courses.create_user("alice", "alice-password", utcnow())
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_login_needs_the_csrf_token(production_app):
    client = production_app.test_client()
    response = client.post("/login", data={"username": "alice", "password": "alice-password"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_secure_outside_debug(production_app):
    client = production_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"username": "alice", "password": "alice-password",
                                           "csrf_token": token}, headers=SAME_SITE_FORM)
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_home_leads_staff_to_their_dashboard_and_learners_to_exams(client, factory):
    factory.exam(exam_name="Midterm")
    learner = factory.learner(username="lea", password="lea-password")
    staff = factory.course_staff(username="sid")
    staff.set_password("sid-password")
    factory.user(username="root", password="root-password", is_staff=True)
    factory.course("course-v1:Other+O+1")
    db.session.flush()
    dashboard = "/courses/course-v1:TestX+T101+2026/instructor/"

    client.post("/login", data={"username": "lea", "password": "lea-password"})
    html = client.get("/").get_data(as_text=True)
    assert "Midterm" in html and dashboard not in html
    assert learner.id

    client.post("/logout")
    client.post("/login", data={"username": "sid", "password": "sid-password"})
    html = client.get("/").get_data(as_text=True)
    assert dashboard in html and "course-v1:Other+O+1" not in html

    client.post("/logout")
    client.post("/login", data={"username": "root", "password": "root-password"})
    html = client.get("/").get_data(as_text=True)
    assert dashboard in html and "/courses/course-v1:Other+O+1/instructor/" in html
