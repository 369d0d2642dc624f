"""Registering an attempt with a REST provider holds no database lock while the provider thinks.

Issue 8 (SQLite): "never hold a transaction open across network I/O". The learner's POST
used to call the provider inside its write transaction (on SQLite: ``BEGIN IMMEDIATE``, the
database's only write lock), so every other writer waited for the provider. Here the
provider hangs (a ``Gate`` holding the connection) while another connection writes to the
same SQLite file; the write must go through at once. Then the provider answers and the
attempt is registered; when it fails instead, the attempt is removed again with its history
and the learner is told to try again (503).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, Exam, User, utcnow
from proctor_web.services import courses, exams
from tests.conftest import app_config, make_sign_in
from tests.tasks.helpers import Gate, wait_for
from tests.tasks.test_hanging_servers import _backends

COURSE = "course-v1:LockX+REG+2026"
API = "/api/edx_proctoring/v1/proctored_exam/attempt"


@pytest.fixture
def lock_app(tmp_path: Path, provider_port: int) -> Iterator[tuple[Any, Gate, Path]]:
    gate = Gate(provider_port)
    path = tmp_path / "lock.sqlite3"
    app = create_app(app_config(f"sqlite:///{path}", BACKENDS=_backends(gate.port)))
    with app.app_context():
        upgrade()
        now = utcnow()
        courses.ensure_course(COURSE, now)
        learner = courses.create_user("rei", "registration-lock-pass-0123", now,
                                      email="rei@example.com", full_name="Rei Learner")
        courses.enroll(learner, COURSE, now)
        exams.create_exam(COURSE, "final", {"exam_name": "Final", "time_limit_mins": 30,
                                            "is_proctored": True, "backend": "rest"}, None, now)
        db.session.commit()
        db.session.remove()
    try:
        yield app, gate, path
    finally:
        gate.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _post_attempt(app: Any, results: dict[str, Any]) -> None:
    client = app.test_client()
    with app.app_context():
        exam_id = db.session.execute(select(Exam.id)).scalar_one()
        user = db.session.execute(select(User).where(User.username == "rei")).scalar_one()
        make_sign_in(app, client)(user)
        db.session.remove()
    answer = client.post(API, json={"exam_id": exam_id})
    results["status"] = answer.status_code
    results["body"] = answer.get_json()


def _write_elsewhere(path: Path) -> str:
    """A write by another connection (another learner's request, a callback)."""
    connection = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE courses SET display_name = 'written meanwhile'")
        connection.execute("COMMIT")
        return "written"
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        connection.close()


def test_no_write_lock_while_the_provider_registers(lock_app) -> None:
    app, gate, path = lock_app
    results: dict[str, Any] = {}
    before = gate.held
    request = threading.Thread(target=_post_attempt, args=(app, results), daemon=True)
    request.start()
    wait_for(lambda: gate.held > before)  # the learner's request is waiting on the provider
    assert _write_elsewhere(path) == "written"
    gate.open()
    request.join(timeout=30)
    assert results["status"] == 200, results
    with app.app_context():
        attempt = db.session.get(Attempt, results["body"]["exam_attempt_id"])
        assert attempt.status == "created"
        assert attempt.external_id  # the provider's id, recorded after it answered
        assert db.session.execute(select(Exam.external_id)).scalar_one()  # pushed first


def test_a_provider_failure_removes_the_attempt_and_says_try_again(lock_app) -> None:
    app, gate, path = lock_app
    gate.close()  # nobody answers: the registration fails
    results: dict[str, Any] = {}
    _post_attempt(app, results)
    assert results["status"] == 503, results
    assert "try again" in results["body"]["detail"]
    with app.app_context():
        assert db.session.execute(select(Attempt)).scalars().all() == []
        history = db.session.execute(
            select(AttemptHistory.action).order_by(AttemptHistory.id)).scalars().all()
        assert history == ["create", "remove"]
