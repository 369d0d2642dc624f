"""What hostile-input tests share: every route of the app, filled with real ids, and callers
authenticated the way each kind of endpoint needs (signed-in staff, provider bearer token,
RPNow callback secret), so bad input reaches past authentication into the views.

Routes are read from ``app.url_map``: a new endpoint is covered by these tests without
being listed anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from proctor_web import create_app
from proctor_web.backends.software_secure import SoftwareSecureBackend
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import allowances, oauth
from tests.conftest import TEST_BACKENDS, make_sign_in

RPNOW_SETTINGS = {
    "organization": "DemoOrg",
    "exam_sponsor": "Demo",
    "exam_register_endpoint": "https://rpnow.example/register",
    "secret_key_id": "key-1",
    "secret_key": "rpnow-secret",
    "crypto_key": "0123456789abcdefghijklmn",
    "review_callback_secret": "shared-secret-0123456789",
}
PROVIDER_SECRET = "mock-provider-secret-0123456789"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON_PREFIXES = ("/api/", "/oauth2/", "/csrf/")

#: Every field name a view or service reads from a body or a query string.
KNOWN_FIELDS = (
    "exam_id", "user_id", "attempt_id", "course_id", "content_id", "exam_name",
    "time_limit_mins", "due_date", "external_id", "content_url", "backend", "action", "detail",
    "start_clock", "attempt_proctored", "key", "value", "user_info", "exam_ids", "user_ids",
    "users", "allowance_type", "exam_type", "is_proctored", "is_practice_exam", "is_active",
    "hide_after_due", "review_policy", "reason", "proctoring_escalation_email",
    "allow_proctoring_opt_out", "status", "comments", "reviewed_by", "reviewStatus",
    "examMetaData", "webCamComments", "desktopComments", "videoReviewLink", "grant_type",
    "client_id", "client_secret", "username", "password", "page", "q", "type", "sort",
    "statuses", "text_search", "exam", "include_practice", "confirm", "config", "attempt",
)


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"

    @property
    def is_json(self) -> bool:
        return self.rule.startswith(JSON_PREFIXES)

    @property
    def takes_body(self) -> bool:
        return self.method in BODY_METHODS

    @property
    def int_arguments(self) -> list[str]:
        return re.findall(r"<int:([^>]+)>", self.rule)

    @property
    def text_arguments(self) -> list[str]:
        return re.findall(r"<(?:path:|string:)?([a-z_]+)>", self.rule)


def all_routes() -> list[Route]:
    """Every (method, rule) the app serves, static files aside."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "BACKENDS": TEST_BACKENDS})
    routes = []
    for rule in app.url_map.iter_rules():
        # Static files; and /readyz, whose 503 means "not ready" (these test databases are
        # built without migrations), not a failure of the request.
        if rule.endpoint in ("static", "ops.readyz"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(method, rule.rule, rule.endpoint))
    return sorted(routes, key=lambda r: (r.rule, r.method))


ROUTES = all_routes()
BODY_ROUTES = [r for r in ROUTES if r.takes_body]


@dataclass
class World:
    course_id: str
    values: dict[str, Any]
    staff: Any
    learner: Any
    attempt: Any
    rpnow_attempt: Any
    token: str

    def url(self, route: Route, **override: str) -> str:
        """The route's path with real ids (or the given raw values) in its arguments."""

        def fill(match: re.Match) -> str:
            converter, name = match.group(1), match.group(2)
            if name in override:
                return override[name]
            if converter and converter.startswith("any("):
                return converter[4:].split(",")[0].strip()
            return quote(str(self.values.get(name, "x")), safe="")

        return re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", fill, route.rule)

    def headers(self) -> dict[str, str]:
        """Credentials every kind of endpoint accepts at once: the session cookie is set
        by signing in; these add the provider's token and RPNow's callback secret."""
        return {"Authorization": f"Bearer {self.token}",
                "X-Proctor-Callback-Secret": RPNOW_SETTINGS["review_callback_secret"]}


@pytest.fixture
def rpnow_backend(app):
    registry = app.extensions["proctor_backends"]
    registry._backends["software_secure"] = SoftwareSecureBackend("software_secure",
                                                                  RPNOW_SETTINGS)
    yield registry._backends["software_secure"]
    registry._backends.pop("software_secure", None)


@pytest.fixture
def world(app, client, factory, now, rpnow_backend) -> World:
    """A course with staff, a learner, exams on the mock and RPNow backends, attempts,
    an allowance and a provider service account; the client is signed in as staff."""
    staff = factory.course_staff(username="hostile-staff")
    staff.is_staff = True
    learner = factory.learner(username="hostile-learner")
    proctored = factory.exam("proctored", content_id="hostile-proctored")
    rpnow_exam = factory.exam("proctored", content_id="hostile-rpnow", backend="software_secure")
    attempt = factory.attempt(proctored, learner, "started", external_id="ext-hostile",
                              started_minutes_ago=5)
    rpnow_attempt = factory.attempt(rpnow_exam, learner, "submitted", external_id="LOC-HOSTILE",
                                    started_minutes_ago=20)
    allowance = allowances.set_allowance(proctored, learner, "additional_time_granted", "10",
                                         staff, now)
    oauth.create_client("hostile-provider", "mock", now, client_id="hostile-client",
                        client_secret=PROVIDER_SECRET)
    db.session.commit()
    # Requests check the token against the real clock, not the fixed test ``now``.
    token = oauth.issue_token("hostile-client", PROVIDER_SECRET, utcnow()).access_token
    make_sign_in(app, client)(staff)
    values = {
        "course_id": proctored.course_id, "content_id": proctored.content_id,
        "exam_id": proctored.id, "attempt_id": attempt.id, "user_id": learner.id,
        "allowance_id": allowance.id, "external_id": attempt.external_id,
        "attempt_code": attempt.attempt_code, "search": "hostile",
    }
    return World(proctored.course_id, values, staff, learner, attempt, rpnow_attempt, token)


def send(client, world: World, route: Route, *, path: str | None = None,
         query: dict[str, Any] | str | None = None, **body: Any):
    """One request to ``route`` with the world's credentials; ``json=``/``data=`` as body."""
    headers = {**world.headers(), **body.pop("headers", {})}
    response = client.open(path or world.url(route), method=route.method,
                           query_string=query, headers=headers, **body)
    response.get_data()  # a streamed answer (CSV export) must end before the next request
    response.close()
    return response


def refusal_detail(response) -> str:
    """The refusal's message: ``detail`` of a JSON answer, or the text of an error page."""
    if response.is_json:
        assert isinstance(response.json, dict) and response.json.get("detail"), response.json
        return str(response.json["detail"])
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "Traceback" not in page, page[:500]
    return page
