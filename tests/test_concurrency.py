"""Two connections race to change one attempt on PostgreSQL: the row lock lets exactly one win."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from proctor_web.errors import InvalidTransition
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, utcnow
from proctor_web.services import attempts, courses, exams
from proctor_web.services.attempts import Action, Actor
from tests.conftest import app_on_own_database


@pytest.fixture
def committed_app(db_backend, postgres_available) -> Iterator:
    """An app on its own PostgreSQL database, where data is really committed."""
    with app_on_own_database(db_backend, Path(), "proctor_race", postgres_available) as app:
        yield app


def _apply_and_commit(attempt: Attempt, user, action: Action, now, reason: str,  # noqa: ANN001
                      outcomes: dict[str, str]) -> None:
    """Apply ``action`` in this thread's session and commit; note whether it won."""
    try:
        attempts.apply_action(attempt, action, Actor.learner(user),
                              now + timedelta(seconds=1), reason)
        db.session.commit()
        outcomes[action.value] = "won"
    except InvalidTransition:
        db.session.rollback()
        outcomes[action.value] = "refused"
    finally:
        db.session.remove()


@pytest.mark.postgresql_only
@pytest.mark.parametrize("rounds", [5])
def test_conflicting_actions_one_wins(committed_app, rounds):
    app = committed_app
    now = utcnow()
    with app.app_context():
        learner = courses.create_user("racer", None, now)
        courses.enroll(learner, "course-v1:Race+R+1", now)
        attempt_ids = []
        for round_number in range(rounds):
            exam = exams.create_exam("course-v1:Race+R+1", f"race-{round_number}", {
                "exam_name": "Race", "time_limit_mins": 60}, None, now)
            attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                              start_clock=True)
            attempt_ids.append(attempt.id)
        db.session.commit()
        learner_id = learner.id

    for attempt_id in attempt_ids:
        barrier = threading.Barrier(2, timeout=10)
        outcomes: dict[str, str] = {}

        def act(action: Action, attempt_id: int = attempt_id, barrier=barrier,
                outcomes=outcomes) -> None:
            with app.app_context():
                attempt = db.session.get(Attempt, attempt_id)
                user = attempt.user
                assert attempt.status == "started"  # both start from the same stale view
                barrier.wait()
                _apply_and_commit(attempt, user, action, now, "race", outcomes)

        threads = [threading.Thread(target=act, args=(a,)) for a in (Action.SUBMIT, Action.ERROR)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes.values()) == ["refused", "won"], outcomes
        winner = next(a for a, o in outcomes.items() if o == "won")

        with app.app_context():
            final = db.session.get(Attempt, attempt_id)
            assert final.status == {"submit": "submitted", "error": "error"}[winner]
            race_rows = db.session.execute(
                select(AttemptHistory).where(
                    AttemptHistory.attempt_id == attempt_id, AttemptHistory.reason == "race"
                )
            ).scalars().all()
            assert [(r.action, r.from_status) for r in race_rows] == [(winner, "started")]
            assert final.user_id == learner_id
            db.session.remove()


@pytest.mark.postgresql_only
def test_a_status_write_locks_the_attempt_when_it_loads_it(committed_app):
    """The status write loads its attempt with ``FOR UPDATE`` and the lifecycle does not read
    it again: a second write that loads while the first holds the row waits for it, and then
    sees the first's status, so it is refused instead of changing a stale row."""
    import time

    from proctor_web.services.learner import loading

    app = committed_app
    now = utcnow()
    with app.app_context():
        learner = courses.create_user("locker", None, now)
        courses.enroll(learner, "course-v1:Race+R+1", now)
        exam = exams.create_exam("course-v1:Race+R+1", "locked-load", {
            "exam_name": "Race", "time_limit_mins": 60}, None, now)
        attempt_id = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                             start_clock=True).id
        db.session.commit()

    first_loaded = threading.Event()
    outcomes: dict[str, str] = {}

    def write(action: Action, wait_for: threading.Event | None) -> None:
        with app.test_request_context(method="PUT"):
            if wait_for is not None:
                assert wait_for.wait(10)
            view = loading.load_attempt_view(attempt_id, lock=True)
            if wait_for is None:
                first_loaded.set()
                time.sleep(0.3)  # the other write loads meanwhile, if it can
            _apply_and_commit(view.attempt, view.attempt.user, action, now, "locked load",
                              outcomes)

    threads = [threading.Thread(target=write, args=(Action.SUBMIT, None)),
               threading.Thread(target=write, args=(Action.ERROR, first_loaded))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"submit": "won", "error": "refused"}, outcomes
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "submitted"
        db.session.remove()
