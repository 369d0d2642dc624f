"""A removed row's id never goes to a new row (SQLite would reuse it without AUTOINCREMENT)."""

from __future__ import annotations

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import AttemptHistory
from proctor_web.services import attempts
from proctor_web.services.attempts import Actor


def test_an_attempt_created_after_a_removal_gets_a_new_id(factory, now):
    learner = factory.learner()
    staff = factory.course_staff()
    exam = factory.exam("timed")
    first = attempts.create_attempt(exam, learner, Actor.learner(learner), now, start_clock=True)
    removed_id = first.id
    attempts.remove_attempt(first, Actor.staff(staff), now, "staff reset")
    db.session.commit()

    second = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                     start_clock=True)
    db.session.commit()
    assert second.id != removed_id
    # Each history row still belongs to exactly one attempt.
    codes = db.session.execute(
        select(AttemptHistory.attempt_code).where(AttemptHistory.attempt_id == second.id)
    ).scalars().all()
    assert set(codes) == {second.attempt_code}
