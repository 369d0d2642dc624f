"""Sessions in the LMS iframe: partitioned cookies, and the frame token for browsers that
keep no cookie at all in a third-party frame."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

from flask import g
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Attempt, LtiContext
from proctor_web.services import exams
from tests.lti import tool_launch
from tests.lti.tool_launch import auto_post_fields, launch, launch_fields, login

lms, lms_platform = tool_launch.lms, tool_launch.lms_platform  # fixtures


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def _exam_course(client, lms, platform):
    launch(client, lms, user_id="teacher-1", roles="Instructor")
    context = db.session.execute(select(LtiContext)).scalar_one()
    exams.create_exam(context.course_id, "final", {"exam_name": "Final",
                                                   "time_limit_mins": 30}, None,
                      context.created)
    db.session.flush()
    return context


def _frame_token(page: str) -> str:
    data = re.search(r'<script type="application/json" id="lti-frame">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(data)["token"]


def _csrf(page: str) -> str:
    return html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))


def test_launch_cookies_are_partitioned_cross_site_cookies(app, client, lms, lms_platform):
    answer = login(client, lms)
    (state_cookie,) = _set_cookies(answer)
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in state_cookie
    auth = __import__("requests").get(answer.headers["Location"], timeout=10)
    _, fields = auto_post_fields(auth.text)
    response = client.post("/lti/launch", data=fields)
    session_cookie = next(c for c in _set_cookies(response) if c.startswith("session="))
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in session_cookie


def test_a_browser_without_any_cookie_takes_the_exam_with_the_frame_token(
    app, client, lms, lms_platform, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    _exam_course(client, lms, lms_platform)
    # The launch happens in a browser that will keep none of our cookies afterwards.
    response = launch(client, lms, user_id="learner-1", custom_content_id="final")
    location = response.headers["Location"]
    assert "lti_session=" in location
    cookieless = app.test_client(use_cookies=False)
    page = cookieless.get(location)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    token = _frame_token(body)
    path = urlsplit(location).path
    entered = cookieless.post(path, data={"action": "enter", "csrf_token": _csrf(body),
                                          "lti_session": token})
    assert entered.status_code == 303, entered.get_data(as_text=True)
    assert "lti_session=" in entered.headers["Location"]
    attempt = db.session.execute(select(Attempt)).scalar_one()
    assert attempt.status == "started"

    # Scripts send the token as a header; answers carry the fresh one back.
    again = cookieless.get(path, headers={"X-Proctor-Session": token})
    assert again.status_code == 200 and again.headers["X-Proctor-Session"]

    # Without the token, the same browser is not signed in.
    g.pop("_login_user", None)  # requests share the test's app context
    assert cookieless.get(path).status_code == 302


def test_a_forged_or_expired_frame_token_signs_nobody_in(
    app, client, lms, lms_platform, monkeypatch
) -> None:
    _exam_course(client, lms, lms_platform)
    response = launch(client, lms, user_id="learner-1", custom_content_id="final")
    location = response.headers["Location"]
    token = parse_qs(urlsplit(location).query)["lti_session"][0]
    cookieless = app.test_client(use_cookies=False)
    path = urlsplit(location).path
    g.pop("_login_user", None)  # requests share the test's app context
    assert cookieless.get(path, query_string={"lti_session": token[:-4] + "AAAA"}
                          ).status_code == 302
    monkeypatch.setitem(app.config, "LTI_SESSION_TOKEN_MAX_AGE", -1)
    g.pop("_login_user", None)
    assert cookieless.get(path, query_string={"lti_session": token}).status_code == 302


def test_the_platform_storage_keeps_the_state_when_cookies_are_blocked(
    app, client, lms, lms_platform
) -> None:
    answer = login(client, lms, storage_target="_parent")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    storage = json.loads(re.search(r'id="lti-storage">(.*?)</script>', page, re.S).group(1))
    assert storage["action"] == "put" and storage["target"] == "_parent"
    assert storage["origin"] == lms.url
    auth = __import__("requests").get(storage["next"], timeout=10)
    _, fields = auto_post_fields(auth.text)
    assert storage["value"] == fields["state"]

    cookieless = app.test_client(use_cookies=False)
    # No cookie: we ask the platform's storage first (a page whose script reads it).
    asking = cookieless.post("/lti/launch", data=fields)
    assert asking.status_code == 200
    assert '"action": "get"' in asking.get_data(as_text=True)
    # What the script read back does not match: refused.
    refused = cookieless.post("/lti/launch", data={**fields, "lti_storage_state": "other"})
    assert refused.status_code == 400 and "bad_state" in refused.get_data(as_text=True)
    accepted = cookieless.post("/lti/launch",
                               data={**fields, "lti_storage_state": fields["state"]})
    assert accepted.status_code == 303


def test_launch_fields_do_not_work_twice_through_the_storage_path(
    app, client, lms, lms_platform
) -> None:
    fields = launch_fields(client, lms)
    assert client.post("/lti/launch", data=fields).status_code == 303
    replay = app.test_client(use_cookies=False).post(
        "/lti/launch", data={**fields, "lti_storage_state": fields["state"]})
    assert replay.status_code == 400


def test_a_strict_policy_gets_the_platform_in_frame_ancestors_and_form_action(app) -> None:
    from werkzeug.wrappers import Response

    from proctor_web.blueprints.lti.frame import _allow_framing

    with app.test_request_context("/"):
        g.lti_frame_origins = ["https://lms.example.edu"]
        response = Response("x", headers={
            "Content-Security-Policy": "default-src 'self'; form-action 'self'; "
                                       "frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN"})
        policy = _allow_framing(response).headers["Content-Security-Policy"]
    assert "form-action 'self' https://lms.example.edu" in policy
    assert "frame-ancestors 'self' https://lms.example.edu" in policy
    assert "default-src 'self';" in policy and "X-Frame-Options" not in response.headers


def test_sessions_not_opened_by_a_launch_keep_their_usual_cookie(app, client, factory) -> None:
    user = factory.user("local", password="local-password")
    db.session.commit()
    response = client.post("/login", data={"username": "local", "password": "local-password"})
    cookie = next(c for c in _set_cookies(response) if c.startswith("session="))
    assert "Partitioned" not in cookie and "SameSite=Lax" in cookie
    assert "X-Proctor-Session" not in response.headers
    assert user.id
