"""Factories with sane defaults: each builds valid rows through the services when it can."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, Exam, User
from proctor_web.services import attempts, courses, exams

COURSE_ID = "course-v1:TestX+T101+2026"
_counter = itertools.count(1)


class Factory:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def user(self, username: str | None = None, *, password: str | None = None,
             **fields: Any) -> User:
        username = username or f"user{next(_counter)}"
        fields.setdefault("email", f"{username}@example.com")
        fields.setdefault("full_name", username.title())
        return courses.create_user(username, password, self.now, **fields)

    def course(self, course_id: str = COURSE_ID, **fields: Any):
        course = courses.ensure_course(course_id, self.now)
        for key, value in fields.items():
            setattr(course, key, value)
        db.session.flush()
        return course

    def learner(self, course_id: str = COURSE_ID, username: str | None = None,
                **fields: Any) -> User:
        user = self.user(username, **fields)
        courses.enroll(user, course_id, self.now, role="learner")
        return user

    def course_staff(self, course_id: str = COURSE_ID, username: str | None = None) -> User:
        user = self.user(username)
        courses.enroll(user, course_id, self.now, role="staff")
        return user

    def exam(self, kind: str = "timed", course_id: str = COURSE_ID, **fields: Any) -> Exam:
        """``kind`` is timed, proctored, practice (proctored practice, null backend) or
        onboarding (proctored practice on the mock backend, which supports onboarding)."""
        defaults: dict[str, Any] = {
            "exam_name": f"{kind.title()} exam {next(_counter)}",
            "time_limit_mins": 60,
            "is_proctored": kind in ("proctored", "onboarding", "practice"),
            "is_practice_exam": kind in ("practice", "onboarding"),
        }
        if kind == "practice":
            defaults["backend"] = "null"
        elif kind in ("proctored", "onboarding"):
            defaults["backend"] = "mock"
        defaults.update(fields)
        content_id = defaults.pop("content_id", f"block-{next(_counter)}")
        return exams.create_exam(course_id, content_id, defaults, None, self.now)

    def attempt(self, exam: Exam, user: User, status: str = "created",
                started_minutes_ago: int | None = None, **fields: Any) -> Attempt:
        """An attempt row placed directly in ``status`` (for tests of what follows)."""
        from proctor_web.services.attempts import new_attempt_code

        started_at = None
        if started_minutes_ago is not None:
            started_at = self.now - timedelta(minutes=started_minutes_ago)
        values: dict[str, Any] = {
            "taking_as_proctored": exam.is_proctored or exam.is_practice_exam,
            "is_sample_attempt": exam.is_practice_exam,
            "started_at": started_at,
            "allowed_time_limit_mins": exam.time_limit_mins if started_at else None,
        }
        values.update(fields)
        attempt = Attempt(
            user=user, exam=exam, attempt_code=new_attempt_code(), status=status,
            created=self.now, modified=self.now, **values,
        )
        db.session.add(attempt)
        db.session.flush()
        # Placed directly, not through the services: keep the exam's learner count true.
        attempts.recount_learners([exam.id])
        return attempt

    @staticmethod
    def history(attempt_id: int) -> list[AttemptHistory]:
        from proctor_web.services.attempts import history_of

        return history_of(attempt_id)


@pytest.fixture
def factory(app, now) -> Factory:
    return Factory(now)
