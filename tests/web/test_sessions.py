"""Ending a session ends it everywhere: a cookie copied before logout, a password change or a
deactivation stops working on pages and on the JSON API at once."""

from __future__ import annotations

import re

import pytest
from flask import g

from proctor_web.extensions import db
from proctor_web.models import User
from proctor_web.services import accounts
from tests.conftest import SAME_SITE_FORM
from tests.web.test_auth import production_app  # noqa: F401  (fixture)

PASSWORD = "alice-password"
HOME = "/"
API = "/api/edx_proctoring/v1/proctored_exam/active_attempt"


@pytest.fixture
def alice(factory):
    user = factory.learner(username="alice", password=PASSWORD)
    db.session.commit()
    return user


def _signed_in_client(app, username: str = "alice", password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data
    return client


def _captured_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str, path: str):
    """A request from another browser that copied ``cookie`` (Flask-Login's cache cleared:
    the test's requests share one app context)."""
    g.pop("_login_user", None)
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(path, headers={"Accept": "application/json"} if path == API else {})


def _works(app, cookie: str) -> tuple[bool, bool]:
    page = _replay(app, cookie, HOME)
    api = _replay(app, cookie, API)
    assert page.status_code in (200, 302) and api.status_code in (200, 401), (
        page.status_code, api.status_code)
    return page.status_code == 200, api.status_code == 200


def test_a_cookie_captured_before_logout_stops_working(app, alice):
    client = _signed_in_client(app)
    cookie = _captured_cookie(client)
    assert _works(app, cookie) == (True, True)
    g.pop("_login_user", None)
    assert client.post("/logout").status_code == 302
    assert _works(app, cookie) == (False, False)


def test_logout_ends_the_sessions_of_every_browser(app, alice):
    first, second = _signed_in_client(app), _signed_in_client(app)
    second_cookie = _captured_cookie(second)
    g.pop("_login_user", None)
    first.post("/logout")
    assert _works(app, second_cookie) == (False, False)
    # Signing in again works, with a cookie of its own.
    assert _works(app, _captured_cookie(_signed_in_client(app))) == (True, True)


def test_cli_password_change_ends_sessions(app, alice):
    cookie = _captured_cookie(_signed_in_client(app))
    result = app.test_cli_runner().invoke(
        args=["proctor", "set-password", "alice", "--password", "a-brand-new-password"])
    assert result.exit_code == 0, result.output
    assert _works(app, cookie) == (False, False)
    assert _works(app, _captured_cookie(
        _signed_in_client(app, password="a-brand-new-password"))) == (True, True)


def test_cli_password_change_refuses_a_short_password(app, alice):
    token = db.session.get(User, alice.id).session_token
    result = app.test_cli_runner().invoke(
        args=["proctor", "set-password", "alice", "--password", "short"])
    assert result.exit_code != 0 and "at least 8 characters" in result.output
    db.session.expire_all()
    assert db.session.get(User, alice.id).session_token == token


def test_cli_deactivation_ends_sessions(app, alice):
    cookie = _captured_cookie(_signed_in_client(app))
    result = app.test_cli_runner().invoke(args=["proctor", "deactivate-user", "alice"])
    assert result.exit_code == 0, result.output
    assert _works(app, cookie) == (False, False)
    # Reactivated, the old cookie stays dead: its token was replaced.
    assert app.test_cli_runner().invoke(args=["proctor", "activate-user", "alice"]).exit_code == 0
    assert _works(app, cookie) == (False, False)


def test_service_level_changes_end_sessions(app, alice, now):
    cookie = _captured_cookie(_signed_in_client(app))
    accounts.change_password(alice, "another-password-1", now)
    db.session.commit()
    assert _works(app, cookie) == (False, False)
    cookie = _captured_cookie(_signed_in_client(app, password="another-password-1"))
    accounts.set_active(alice, False, now)
    db.session.commit()
    assert _works(app, cookie) == (False, False)


def test_a_session_without_the_token_is_anonymous(app, alice):
    """Sessions from before the upgrade (a bare user id), or with a forged token."""
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # what "strong" session protection expects

    def home_with(user_id: str) -> int:
        g.pop("_login_user", None)
        with client.session_transaction() as session:
            session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
        return client.get(HOME).status_code

    assert home_with(alice.get_id()) == 200  # the real thing works
    for user_id in (str(alice.id), f"{alice.id}:forged", f"{alice.id}:", "x:y"):
        assert home_with(user_id) == 302, user_id


def test_csrf_token_is_rotated_at_sign_in(production_app):  # noqa: F811
    client = production_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    before = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    with client.session_transaction() as session:
        raw_before = session["csrf_token"]
    response = client.post("/login", data={"username": "alice", "password": "alice-password",
                                           "csrf_token": before},
                           headers=SAME_SITE_FORM)
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session.get("csrf_token") != raw_before
    # The pre-sign-in token no longer passes: signing out with it is refused.
    refused = client.post("/logout", data={"csrf_token": before},
                           headers=SAME_SITE_FORM)
    assert refused.status_code == 400
    page = client.get("/").get_data(as_text=True)
    after = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": after},
                       headers=SAME_SITE_FORM).status_code == 302


def test_a_remember_me_cookie_dies_with_the_token(app, alice, now):
    """Sign-in does not set one today; if it ever does, the same token guards it."""
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        remembered = encode_cookie(alice.get_id())

    def home_status() -> int:
        g.pop("_login_user", None)
        client = app.test_client()
        client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remembered)
        return client.get(HOME).status_code

    assert home_status() == 200
    accounts.end_sessions(alice, "test")
    db.session.commit()
    assert home_status() == 302
