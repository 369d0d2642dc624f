"""A lost or unreachable database answers 503 with Retry-After, never a 500 or a traceback.

Real failures only: a database nobody listens for, and PostgreSQL connections terminated
from an admin connection (``pg_terminate_backend``) while idle in the pool and in the middle
of a request.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event

from proctor_web import create_app
from proctor_web.errors import DATABASE_RETRY_AFTER_SECONDS
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import attempts, courses, exams
from proctor_web.services.attempts import Actor
from tests.conftest import PG_ADMIN_URL, app_config, app_on_own_database

COURSE = "course-v1:Drop+D+1"
LAUNCH = "/api/edx_proctoring/proctoring_launch_callback/start_exam/"
TIMER = "/api/edx_proctoring/v1/proctored_exam/attempt"


def _closed_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sign_in(app, client, session_id: str) -> None:
    """A session cookie as the login form sets it; needs no database."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update(_user_id=session_id, _fresh=True, _id=identifier)


def assert_unavailable(response, *, json: bool) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data()[:300])
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    if json:
        assert response.is_json and "try again" in response.json["detail"]
    else:
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html"
        assert "try again" in page and "Traceback" not in page and "psycopg" not in page


@pytest.fixture
def unreachable_app(db_backend, tmp_path):
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'proctor.sqlite3'}"
    else:
        url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/proctor"
    app = create_app(app_config(url))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_an_unreachable_database_is_a_503_for_clients_and_people(unreachable_app):
    client = unreachable_app.test_client()
    assert_unavailable(client.get(LAUNCH + "SOME-CODE"), json=True)  # anonymous webhook
    assert_unavailable(client.post("/login", data={"username": "a", "password": "b"}),
                       json=False)
    # What sign-in stores (<id>:<session token>): only the database can tell if it is current.
    _sign_in(unreachable_app, client, "1:token")
    assert_unavailable(client.get(TIMER), json=True)
    assert_unavailable(client.get("/"), json=False)


@pytest.fixture
def committed_pg_app(db_backend, postgres_available) -> Iterator:
    """An app on its own PostgreSQL database, with a learner whose exam is running."""
    with app_on_own_database(db_backend, Path(), "proctor_drop", postgres_available) as app:
        now = utcnow()
        with app.app_context():
            learner = courses.create_user("dropped", None, now)
            courses.enroll(learner, COURSE, now)
            exam = exams.create_exam(COURSE, "drop-1", {"exam_name": "Drop",
                                                        "time_limit_mins": 60}, None, now)
            attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                              start_clock=True)
            db.session.commit()
            url = app.config["SQLALCHEMY_DATABASE_URI"]
            app.config["test_ids"] = {"learner": learner.id, "session_id": learner.get_id(),
                                      "code": attempt.attempt_code,
                                      "database": url.rsplit("/", 1)[1]}
        yield app


def _terminate(pid_filter: str, *params) -> int:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            f"WHERE pid <> pg_backend_pid() AND {pid_filter}", params).fetchall()
    return len(rows)


@pytest.mark.postgresql_only
def test_pool_pre_ping_replaces_connections_the_server_dropped(committed_pg_app):
    app = committed_pg_app
    ids = app.config["test_ids"]
    client = app.test_client()
    _sign_in(app, client, ids["session_id"])
    assert client.get(TIMER).status_code == 200  # the pool now holds a connection
    assert _terminate("datname = %s", ids["database"]) >= 1  # e.g. a server restart
    response = client.get(TIMER)
    assert response.status_code == 200, response.get_data()[:300]


@pytest.mark.postgresql_only
@pytest.mark.parametrize(("path", "is_json"), [(TIMER, True), ("/", False), (LAUNCH, True)],
                         ids=["learner-api", "page", "rpnow-launch"])
def test_a_connection_lost_in_the_middle_of_a_request_is_a_503(committed_pg_app, path,
                                                                is_json):
    app = committed_pg_app
    ids = app.config["test_ids"]
    if path == LAUNCH:
        path = LAUNCH + ids["code"]
    client = app.test_client()
    _sign_in(app, client, ids["session_id"])
    assert client.get("/healthz").status_code == 200
    dropped: list[int] = []

    def drop_before_the_first_statement(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if not dropped:
            pid = conn.connection.dbapi_connection.info.backend_pid
            dropped.append(_terminate("pid = %s", pid))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", drop_before_the_first_statement)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", drop_before_the_first_statement)
    assert dropped == [1]
    assert_unavailable(response, json=is_json)
    # The broken connection was discarded: the next request is served normally.
    assert client.get(TIMER).status_code == 200


@pytest.mark.postgresql_only
@pytest.mark.parametrize(("path", "is_json"), [("/api/probe", True), ("/probe", False)])
def test_a_value_the_database_refuses_is_a_400_not_a_500(committed_pg_app, path, is_json):
    """The net under validation: PostgreSQL's DataError (here an integer out of range)."""
    from sqlalchemy import text

    app = committed_pg_app

    def store_a_huge_integer() -> str:
        db.session.execute(text("SELECT CAST(:value AS integer)"), {"value": 2**40})
        return "stored"

    app.add_url_rule(path, "probe", store_a_huge_integer)
    response = app.test_client().get(path)
    assert response.status_code == 400
    if is_json:
        assert "out of range" in response.json["detail"]
    else:
        page = response.get_data(as_text=True)
        assert "out of range" in page and "Traceback" not in page
