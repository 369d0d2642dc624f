"""Anonymous writes to the JSON API are told to sign in (401) before any CSRF check; signed-in
people still need a valid CSRF token."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter, PathConverter

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import courses
from tests.conftest import app_config

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _api_writes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "api":
            continue
        for method in sorted(set(rule.methods or ()) & set(WRITE_METHODS)):
            found.append((method, _sample_path(rule)))
    return found


def _sample_path(rule: Rule) -> str:
    values = {}
    for name, converter in rule._converters.items():  # noqa: SLF001
        if isinstance(converter, NumberConverter):
            values[name] = "1"
        elif isinstance(converter, PathConverter):
            values[name] = "x"
        else:
            values[name] = "course-v1:X+Y+Z"
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture(scope="module")
def csrf_app(tmp_path_factory):
    database = tmp_path_factory.mktemp("anonymous") / "anonymous.sqlite3"
    app = create_app(app_config(f"sqlite:///{database}", WTF_CSRF_ENABLED=True))
    with app.app_context():
        db.create_all()
        courses.create_user("lea", "lea-password", utcnow())
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_api_has_write_endpoints_to_check(csrf_app):
    assert len(_api_writes(csrf_app)) >= 10


def test_every_anonymous_api_write_gets_401_not_a_csrf_error(csrf_app):
    client = csrf_app.test_client()
    answers = {}
    for method, path in _api_writes(csrf_app):
        response = client.open(path, method=method, json={"exam_id": 1})
        answers[f"{method} {path}"] = (response.status_code, (response.get_json() or {}).get(
            "detail", ""))
    wrong = {k: v for k, v in answers.items()
             if v[0] != 401 or "credentials were not provided" not in v[1]}
    assert wrong == {}


def test_signed_in_writes_still_need_the_csrf_token(csrf_app):
    import re

    client = csrf_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "lea", "password": "lea-password",
                                       "csrf_token": token}).status_code == 302
    url = "/api/edx_proctoring/v1/proctored_exam/attempt"
    without = client.post(url, json={"exam_id": 999})
    assert without.status_code == 400 and "security token is missing" in without.json["detail"]
    fresh = client.get("/csrf/api/v1/token").json["csrfToken"]
    with_token = client.post(url, json={"exam_id": 999}, headers={"X-CSRFToken": fresh})
    assert with_token.status_code == 404  # past the CSRF check: no exam 999


def test_provider_callbacks_are_not_asked_for_a_session(csrf_app):
    """Webhooks authenticate with their own credentials, not a signed-in person."""
    client = csrf_app.test_client()
    response = client.post("/api/edx_proctoring/v1/proctored_exam/attempt/x/ready", json={})
    assert response.status_code == 401 and "Bearer" in response.json["detail"]
