"""Schemathesis against the app (WSGI, in process, inside the test's rolled-back transaction):
for every documented operation, bounded generated requests, signed in as the role the
operation expects, must never get a 5xx and must get answers that conform to the document
(status code documented, content type, body schema)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import g
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.openapi.document import build_document
from proctor_web.services import oauth
from tests.factories import COURSE_ID

EXAMPLES_PER_OPERATION = 12
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]
#: The suite's database is built with create_all, never migrated, so readiness is rightly
#: 503 here; tests/ops/test_health.py covers it on a migrated database.
NOT_FUZZED = {"ops.readyz"}
MUST_SUCCEED = {"api.get_attempt", "api.timer_payload", "api.exam_get", "api.exam_list",
                "api.attempts_grouped", "api.allowance_list", "api.proctoring_settings",
                "api.retire_user", "webhooks.attempt_ready", "learner.csrf_token"}
PROVIDER_SECRET = "schemathesis-provider-secret-0123456789"


@pytest.fixture
def now():
    return utcnow()


@pytest.fixture
def world(app, client, factory):
    """Rows the generated requests can find: a course, its exams, a learner's attempt."""
    factory.course()
    learner = factory.learner(username="st-learner")
    staff = factory.user("st-staff", is_staff=True)
    timed = factory.exam("timed", content_id="st-timed")
    proctored = factory.exam("proctored", content_id="st-proctored")
    attempt = factory.attempt(proctored, learner, "started", started_minutes_ago=5,
                              external_id="st-external")
    oauth.create_client("st-provider", "mock", factory.now, client_id="st-client",
                        client_secret=PROVIDER_SECRET)
    db.session.commit()
    token = client.post("/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "st-client",
        "client_secret": PROVIDER_SECRET}).json["access_token"]
    return {"learner": learner, "staff": staff, "exams": (timed, proctored),
            "attempt": attempt, "token": token}


USER_AGENT = "proctor-schemathesis"
#: Flask-Login ties the session to the client's address and user agent; schemathesis' WSGI
#: client sends no REMOTE_ADDR, so name the address the way a proxy would.
CLIENT_HEADERS = {"User-Agent": USER_AGENT, "X-Forwarded-For": "192.0.2.10"}


def session_cookie(app, user) -> str:
    """The signed session a sign-in would give this user agent (session protection is strong)."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(headers=CLIENT_HEADERS):
        identifier = _create_identifier()
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps({"_user_id": user.get_id(), "_fresh": True, "_id": identifier})


def known_rows(world: dict[str, Any]) -> dict[str, Any]:
    attempt = world["attempt"]
    return {"course_id": COURSE_ID, "exam_id": attempt.exam_id, "attempt_id": attempt.id,
            "user_id": world["learner"].id, "content_id": "st-proctored",
            "external_id": "st-external", "attempt_code": attempt.attempt_code}


def reaching_known_rows(strategy, known: dict[str, Any]):
    """Half of the cases get the seeded rows' ids in their path, so they reach real objects
    instead of 404s; bodies and queries stay generated."""

    def substitute(pair):
        case, use_known = pair
        if use_known:
            for name in case.path_parameters or {}:
                if name in known:
                    case.path_parameters[name] = known[name]
        return case

    return st.tuples(strategy, st.booleans()).map(substitute)


def credentials_for(app, world, operation: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``case.call``: the role the operation's ``x-proctor-auth`` names."""
    auth = operation["x-proctor-auth"]
    headers = dict(CLIENT_HEADERS)
    if auth in ("learner", "staff"):
        user = world["learner"] if auth == "learner" else world["staff"]
        return {"headers": headers, "cookies": {"session": session_cookie(app, user)}}
    if auth == "provider":
        headers["Authorization"] = f"Bearer {world['token']}"
    return {"headers": headers}


def fuzz(app, world, only: set[str] | None = None) -> tuple[dict[str, str], dict[str, set[int]]]:
    """Run every operation (or those labelled in ``only``); failures and statuses seen."""
    document = build_document(app)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    connection = db.session.get_bind()
    for result in schema.get_all_operations():
        operation = result.ok()
        spec = document["paths"][operation.path][operation.method.lower()]
        if spec["x-flask-endpoint"] in NOT_FUZZED or (only and operation.label not in only):
            continue
        run = _runner(reaching_known_rows(operation.as_strategy(), known_rows(world)),
                      spec["x-flask-endpoint"], credentials_for(app, world, spec), statuses)
        # Each operation starts from the seeded rows: what it changed is rolled back after.
        db.session.rollback()
        savepoint = connection.begin_nested()
        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001  (collect them all)
            failures[operation.label] = str(error)[:2000]
        finally:
            db.session.rollback()
            savepoint.rollback()
            db.session.expire_all()
    return failures, statuses


def _runner(strategy, endpoint: str, credentials: dict[str, Any],
            statuses: dict[str, set[int]]):
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        # Requests share the test's app context: forget the user the last one loaded.
        g.pop("_login_user", None)
        response = case.call_and_validate(checks=CHECKS, **credentials)
        statuses.setdefault(endpoint, set()).add(response.status_code)

    return run


def test_no_server_errors_and_answers_conform_to_the_document(app, world):
    failures, statuses = fuzz(app, world)
    report = "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert failures == {}, report
    # The credentials work and the examples reach the seeded rows: these answered 2xx.
    succeeded = {endpoint for endpoint, codes in statuses.items()
                 if any(200 <= code < 300 for code in codes)}
    assert MUST_SUCCEED - succeeded == set(), sorted(statuses.items())
