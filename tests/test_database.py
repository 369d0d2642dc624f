"""SQLite's writers: WAL, BEGIN IMMEDIATE for writing transactions, a retried GET that wrote."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from proctor_web import create_app
from proctor_web.database import immediate_transactions, wants_immediate
from proctor_web.extensions import db
from proctor_web.models import Course, utcnow
from proctor_web.services import courses
from tests.conftest import app_config


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator:
    path = tmp_path / "writers.sqlite3"
    app = create_app(app_config(f"sqlite:///{path}"))
    app.config["DATABASE_PATH"] = str(path)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _begins(app, run) -> list[str]:
    """The BEGIN statements ``run`` sends."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
    return seen


def test_the_journal_is_wal(sqlite_app):
    with sqlite_app.app_context():
        journal = db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = db.session.connection().exec_driver_sql("PRAGMA synchronous").scalar()
    assert journal == "wal"
    assert synchronous == 1  # NORMAL


@pytest.mark.parametrize(("method", "expected"), [
    ("GET", "BEGIN"), ("HEAD", "BEGIN"), ("OPTIONS", "BEGIN"),
    ("POST", "BEGIN IMMEDIATE"), ("PUT", "BEGIN IMMEDIATE"), ("PATCH", "BEGIN IMMEDIATE"),
    ("DELETE", "BEGIN IMMEDIATE"),
])
def test_requests_that_write_take_the_lock_at_begin(sqlite_app, method, expected):
    with sqlite_app.test_request_context("/", method=method):
        assert _begins(sqlite_app, lambda: db.session.execute(select(1))) == [expected]


def test_jobs_say_they_write_and_plain_reads_do_not(sqlite_app):
    with sqlite_app.app_context():
        assert _begins(sqlite_app, lambda: db.session.execute(select(1))) == ["BEGIN"]
        with immediate_transactions():
            assert wants_immediate()
            assert _begins(sqlite_app, lambda: db.session.execute(select(1))) == [
                "BEGIN IMMEDIATE"]


def test_cli_commands_take_the_lock_at_begin(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    with sqlite_app.app_context():
        begins = _begins(sqlite_app, lambda: runner.invoke(args=[
            "proctor", "create-user", "cli-user", "--password", "a-long-password-1"]))
    # First the read-only check that the database answers, then the command's own work.
    assert begins[0] == "BEGIN" and set(begins[1:]) == {"BEGIN IMMEDIATE"}, begins


def test_a_get_that_must_write_and_loses_the_race_is_run_again_immediate(sqlite_app):
    """A deferred transaction that has read cannot take the write lock once another
    connection has committed: SQLite fails at once. The GET is run once more, immediate."""
    runs: list[bool] = []

    @sqlite_app.get("/_probe/write-on-read")
    def probe():  # noqa: ANN202
        runs.append(wants_immediate())
        db.session.execute(select(func.count()).select_from(Course)).scalar_one()
        if len(runs) == 1:
            # Another writer commits between our read and our write.
            with sqlite3.connect(sqlite_app.config["DATABASE_PATH"]) as other:
                other.execute(
                    "INSERT INTO courses (course_id, display_name, allow_proctoring_opt_out, "
                    "created, modified) VALUES ('other', 'Other', 0, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)")
        courses.ensure_course(f"course-{len(runs)}", utcnow())
        db.session.commit()
        return {"runs": len(runs)}

    response = sqlite_app.test_client().get("/_probe/write-on-read")
    assert response.status_code == 200, response.text
    assert runs == [False, True]  # deferred, lost the upgrade; then immediate, won
    with sqlite_app.app_context():
        names = set(db.session.execute(select(Course.course_id)).scalars())
    assert names == {"other", "course-2"}  # the first run left nothing behind
