"""Session cookies are verified once per worker and cookie (the timer poll sends the same
cookie every minute), and the cache changes nothing a cookie is checked for: its signature,
its age, the keys, and a request's changes to its own session."""

from __future__ import annotations

import pytest
from flask import session

from proctor_web.extensions import db
from proctor_web.lti.tool import frame_session
from tests.conftest import make_sign_in

API = "/api/edx_proctoring/v1/proctored_exam"


@pytest.fixture
def alice_polls(app, client, factory):
    factory.course()
    alice = factory.learner(username="alice")
    exam = factory.exam("timed", content_id="timed-1", time_limit_mins=30)
    attempt = factory.attempt(exam, alice, "started", started_minutes_ago=1)
    db.session.commit()
    make_sign_in(app, client)(alice)
    url = f"{API}/attempt/{attempt.id}"
    return lambda: client.get(url).status_code


def _cookie(client, app) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def test_a_cookie_is_verified_once_and_then_served_from_the_cache(app, client, alice_polls,
                                                                   monkeypatch):
    interface = app.session_interface
    verified = []
    original = interface._verify
    monkeypatch.setattr(interface, "_verified", frame_session.functools.lru_cache(8)(
        lambda serializer, cookie: verified.append(cookie) or original(serializer, cookie)))
    assert [alice_polls() for _ in range(3)] == [200, 200, 200]
    assert verified == [_cookie(client, app)]


def test_a_cached_cookie_still_expires_with_the_session_lifetime(app, client, alice_polls,
                                                                 monkeypatch):
    assert alice_polls() == 200  # verified and cached
    lifetime = app.permanent_session_lifetime.total_seconds()
    real = frame_session.time.time
    monkeypatch.setattr(frame_session.time, "time", lambda: real() + lifetime + 5)
    assert alice_polls() == 401
    # A cookie signed in the future (another server's clock far ahead) is refused too.
    monkeypatch.setattr(frame_session.time, "time", lambda: real() - 3600)
    assert alice_polls() == 401


def test_a_tampered_cookie_is_refused_every_time(app, client, alice_polls):
    assert alice_polls() == 200
    name = app.config["SESSION_COOKIE_NAME"]
    good = _cookie(client, app)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    client.set_cookie(name, tampered)
    assert [alice_polls(), alice_polls()] == [401, 401]
    client.set_cookie(name, good)
    assert alice_polls() == 200


def test_a_new_secret_key_refuses_cookies_cached_under_the_old_one(app, client, alice_polls,
                                                                   monkeypatch):
    assert alice_polls() == 200
    old_key = app.config["SECRET_KEY"]
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-rotated-key-" + "x" * 40)
    assert alice_polls() == 401
    # With the old key among the fallbacks, the same cookie is good again.
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    assert alice_polls() == 200


def test_changes_to_a_session_do_not_reach_the_cached_copy(app):
    """A request that changes nested session values in place (without saving) must not
    change what the next request with the same cookie sees."""
    with app.test_request_context():
        session["_lti"] = {"launch": "L1", "origins": ["https://lms.example"]}
        session["_user_id"] = "1:token"
        interface = app.session_interface
        serializer = interface.get_signing_serializer(app)
        cookie = serializer.dumps(dict(session))
    environ = {"HTTP_COOKIE": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}
    with app.test_request_context(environ_base=environ):
        first = interface.open_session(app, frame_session.request)
        first["_lti"]["origins"].append("https://evil.example")
        first["_lti"]["launch"] = "changed"
    with app.test_request_context(environ_base=environ):
        second = interface.open_session(app, frame_session.request)
    assert second["_lti"] == {"launch": "L1", "origins": ["https://lms.example"]}
