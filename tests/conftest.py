"""Fixtures shared by the whole suite.

Every test that touches the database runs once on SQLite and once on PostgreSQL (choose
with ``--db sqlite|postgresql|both``). The schema is built once per database per session;
each test runs inside a transaction that is rolled back, so tests never see each other.
Under ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import g
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import User
from proctor_web.testing.loopback import scratch_postgres

PG_ADMIN_URL = os.environ.get("PROCTOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

TEST_BACKENDS = {
    "DEFAULT": "mock",
    "null": {},
    "mock": {"ready_after_seconds": 0},
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="Database(s) to run the database tests on (default: both).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgresql"] if choice == "both" else [choice]
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = [b for b in backends if b == "postgresql"]
        metafunc.parametrize("db_backend", backends, scope="session")


def _pg_admin_connect() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        with _pg_admin_connect():
            return True
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {error}")
        return False


@contextmanager
def scratch_database(
    db_backend: str, directory: Path, prefix: str, postgres_available: bool
) -> Iterator[str]:
    """An empty database of the given kind, dropped afterwards; yields its URL."""
    if db_backend == "sqlite":
        yield f"sqlite:///{directory / (prefix + '.sqlite3')}"
        return
    if not postgres_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable (set CI=true to fail instead)")
    with scratch_postgres(prefix, PG_ADMIN_URL) as url:
        yield url


@contextmanager
def app_on_own_database(
    db_backend: str, directory: Path, prefix: str, postgres_available: bool, **overrides: Any
) -> Iterator[Any]:
    """An app on a scratch database of its own with the schema created, where commits are
    real commits (other connections, threads and processes see them); the database is
    dropped afterwards. ``overrides`` go to ``app_config``."""
    with scratch_database(db_backend, directory, prefix, postgres_available) as url:
        app = create_app(app_config(url, **overrides))
        try:
            with app.app_context():
                db.create_all()
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(
    db_backend: str, tmp_path_factory: pytest.TempPathFactory, postgres_available: bool
) -> Iterator[str]:
    with scratch_database(db_backend, tmp_path_factory.mktemp("sqlite"), "proctor_test",
                          postgres_available) as url:
        yield url


#: Outside debug the app prefers https, so the test client speaks https, and Flask-WTF then
#: checks that a form comes from our own pages by its Referer, as a browser sends it.
SAME_SITE_FORM = {"Referer": "https://localhost/login"}


def app_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "BACKENDS": TEST_BACKENDS,
        "WTF_CSRF_ENABLED": False,
        # Brute-force limits are on only in the tests about them (tests/web/test_rate_limits.py).
        "RATELIMIT_ENABLED": False,
        "SITE_URL": "http://proctor.test",
        "SERVER_NAME": None,
        # The database fixture is one transaction a background thread could not see:
        # delivery runs in this process after the response (tests/tasks use the others).
        "BACKGROUND_MODE": "sync",
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _app(database_url: str):
    app = create_app(app_config(database_url))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_app) -> Iterator[Any]:
    """The app, with ``db.session`` bound to a transaction rolled back after the test."""
    with _app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original_session = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _app
        finally:
            db.session.remove()
            db.session = original_session
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


class QueryCounter:
    """Counts the SQL statements a block of code sends."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count``."""
    from contextlib import contextmanager

    @contextmanager
    def _counting():
        counter = QueryCounter()
        engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return _counting


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path



def make_sign_in(app, client) -> Callable[[User | None], Any]:
    """Sign ``client`` in as ``user`` (None signs out), as the login form would."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()

    def login(user: User | None) -> Any:
        # Requests share the test's app context, so Flask-Login's cached user must go too.
        g.pop("_login_user", None)
        with client.session_transaction() as session:
            session.clear()
            if user is not None:
                session["_user_id"] = user.get_id()  # id and session token
                session["_fresh"] = True
                session["_id"] = identifier
        return client

    return login


from tests.factories import factory  # noqa: E402,F401  (fixture)

#: ``mail_inbox``, a real SMTP server on loopback, for every test that asks for it.
pytest_plugins = ["tests.smtp_sink"]
