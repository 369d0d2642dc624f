"""RawSelect, the poll's one-row SELECT on the driver's cursor, answers as SQLAlchemy's own
execution would, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, exc, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, Exam, User
from proctor_web.raw_select import RawSelect


def _query():
    attempts_t, exams_t, users_t = Attempt.__table__, Exam.__table__, User.__table__
    return (
        select(attempts_t.c.id, attempts_t.c.status, attempts_t.c.started_at,
               attempts_t.c.taking_as_proctored, exams_t.c.due_date, exams_t.c.is_active,
               users_t.c.username)
        .select_from(attempts_t.join(exams_t, exams_t.c.id == attempts_t.c.exam_id)
                     .join(users_t, users_t.c.id == attempts_t.c.user_id))
        .where(attempts_t.c.id == bindparam("attempt_id"),
               attempts_t.c.status != "a constant the query keeps")
    )


@pytest.fixture
def attempt(factory, now):
    factory.course()
    learner = factory.learner(username="alice")
    exam = factory.exam("proctored", content_id="p-1", due_date=now + timedelta(days=2))
    row = factory.attempt(exam, learner, "started", started_minutes_ago=5)
    db.session.commit()
    return row


def test_values_come_back_as_sqlalchemy_gives_them(app, attempt):
    query = _query()
    connection = db.session.connection()
    expected = dict(connection.execute(query, {"attempt_id": attempt.id}).mappings().one())
    got = RawSelect(query, variables=("attempt_id",)).one(connection, attempt_id=attempt.id)
    assert got == expected
    assert got["started_at"].tzinfo is not None  # aware UTC, as the models give it
    assert got["taking_as_proctored"] is True and got["is_active"] is True
    assert RawSelect(query, ("attempt_id",)).one(connection, attempt_id=attempt.id + 99) is None


def test_listeners_see_the_statement(app, attempt):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append((statement, parameters))

    connection, attempt_id = db.session.connection(), attempt.id
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        RawSelect(_query(), ("attempt_id",)).one(connection, attempt_id=attempt_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    [(statement, parameters)] = seen
    assert statement.lstrip().upper().startswith("SELECT")
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert attempt_id in values and "a constant the query keeps" in values


def test_driver_errors_come_out_as_sqlalchemy_errors(app):
    missing = Table("no_such_table_here", MetaData(), Column("id", Integer))
    query = select(missing.c.id).where(missing.c.id == bindparam("row_id"))
    connection = db.session.connection()
    with pytest.raises(exc.DBAPIError) as raised, connection.begin_nested():
        RawSelect(query, ("row_id",)).one(connection, row_id=1)
    assert "no_such_table_here" in str(raised.value)


def test_refuses_what_it_cannot_run(app):
    connection = db.session.connection()
    expanding = select(User.__table__.c.id).where(User.__table__.c.id.in_(bindparam(
        "ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        RawSelect(expanding, ("ids",)).one(connection, ids=[1])
    with pytest.raises(ValueError, match="no parameters"):
        RawSelect(_query(), ("user_id",)).one(connection, user_id=1)
