"""Attempt flows that span several rows: creation, decline cascade, onboarding, reset, remove."""

from __future__ import annotations

from typing import ClassVar

import pytest
from sqlalchemy import select

from proctor_web.backends.base import AttemptRegistration, OnboardingRequired
from proctor_web.backends.mock import MockBackend
from proctor_web.errors import InvalidTransition, NotFound, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, Exam
from proctor_web.services import attempts, exams
from proctor_web.services.attempts import Action, Actor


def test_timed_exam_created_and_started_in_one_step(factory, now):
    learner = factory.learner()
    exam = factory.exam("timed", time_limit_mins=30)
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                      start_clock=True)
    assert attempt.status == "started"
    assert attempt.taking_as_proctored is False
    assert attempt.external_id is None  # timed exams never reach a provider
    assert len(attempt.attempt_code) == 36 and attempt.attempt_code == attempt.attempt_code.upper()
    assert [(h.action, h.to_status) for h in factory.history(attempt.id)] == [
        ("create", "created"), ("start", "started")]


def test_proctored_attempt_is_registered_with_the_provider(factory, now):
    learner = factory.learner()
    exam = factory.exam("proctored")
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                      taking_as_proctored=True)
    assert attempt.status == "created"
    assert attempt.taking_as_proctored is True
    assert attempt.external_id == attempt.attempt_code  # what the mock provider answers
    assert attempt.is_sample_attempt is False


def test_proctored_exam_cannot_start_the_clock_at_creation(factory, now):
    learner = factory.learner()
    with pytest.raises(InvalidTransition):
        attempts.create_attempt(factory.exam("proctored"), learner, Actor.learner(learner),
                                now, start_clock=True)
    assert db.session.execute(select(Attempt)).first() is None


def test_learner_cannot_create_an_attempt_for_someone_else(factory, now):
    owner, other = factory.learner(), factory.learner()
    with pytest.raises(PermissionDenied):
        attempts.create_attempt(factory.exam(), owner, Actor.learner(other), now)


def test_inactive_exam_refuses_attempts(factory, now):
    learner = factory.learner()
    with pytest.raises(InvalidTransition, match="not active"):
        attempts.create_attempt(factory.exam(is_active=False), learner,
                                Actor.learner(learner), now)


def test_decline_cascades_to_other_proctored_exams_not_started(factory, now):
    factory.course(allow_proctoring_opt_out=True)
    learner = factory.learner()
    declined_exam = factory.exam("proctored")
    untouched = factory.exam("proctored")
    pre_started_exam = factory.exam("proctored")
    in_progress_exam = factory.exam("proctored")
    practice = factory.exam("practice")
    timed = factory.exam("timed")
    pre_started = factory.attempt(pre_started_exam, learner, "ready_to_start")
    in_progress = factory.attempt(in_progress_exam, learner, "started", started_minutes_ago=1)

    attempt = attempts.create_attempt(declined_exam, learner, Actor.learner(learner), now,
                                      taking_as_proctored=False)
    assert attempt.status == "declined"
    assert attempt.taking_as_proctored is False and attempt.external_id is None

    cascaded = attempts.current_attempt(untouched, learner)
    assert cascaded.status == "declined"
    assert "declined with attempt" in factory.history(cascaded.id)[-1].reason
    assert pre_started.status == "declined"
    assert in_progress.status == "started"  # never pulled out from under the learner
    assert attempts.current_attempt(practice, learner) is None
    assert attempts.current_attempt(timed, learner) is None


def test_decline_refused_without_course_opt_out(factory, now):
    factory.course(allow_proctoring_opt_out=False)
    learner = factory.learner()
    with pytest.raises(InvalidTransition, match="cannot be declined"):
        attempts.create_attempt(factory.exam("proctored"), learner, Actor.learner(learner),
                                now, taking_as_proctored=False)


class OnboardingBlocker(MockBackend):
    """A provider that refuses real exams until the learner has onboarded."""

    refusals: ClassVar[list[str]] = []

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        if not registration.is_sample_attempt:
            self.refusals.append(registration.attempt_code)
            raise OnboardingRequired("no profile", "onboarding_missing", "ext-refused")
        return registration.attempt_code


@pytest.fixture
def blocker_backend(app, monkeypatch):
    registry = app.extensions["proctor_backends"]
    backend = OnboardingBlocker("mock", {})
    monkeypatch.setitem(registry._backends, "mock", backend)
    return backend


def test_provider_onboarding_refusal_keeps_the_attempt_in_that_status(
    factory, now, blocker_backend
):
    learner = factory.learner()
    attempt = attempts.create_attempt(factory.exam("proctored"), learner,
                                      Actor.learner(learner), now, taking_as_proctored=True)
    assert attempt.status == "onboarding_missing"
    assert attempt.external_id == "ext-refused"
    assert factory.history(attempt.id)[-1].reason == "provider refused: no profile"


def test_finishing_onboarding_clears_onboarding_errors(factory, now, blocker_backend):
    learner = factory.learner()
    blocked = attempts.create_attempt(factory.exam("proctored"), learner,
                                      Actor.learner(learner), now, taking_as_proctored=True)
    blocked_id = blocked.id
    onboarding_exam = factory.exam("onboarding")
    onboarding = factory.attempt(onboarding_exam, learner, "ready_to_submit",
                                 started_minutes_ago=1)
    attempts.apply_action(onboarding, Action.SUBMIT, Actor.learner(learner), now)
    assert db.session.get(Attempt, blocked_id) is None
    removal = db.session.execute(
        select(AttemptHistory).where(AttemptHistory.attempt_id == blocked_id)
        .order_by(AttemptHistory.id.desc())
    ).scalars().first()
    assert removal.action == "remove" and removal.reason == "onboarding attempt completed"


def test_practice_retry_resets_and_creates_a_new_attempt(factory, now):
    learner = factory.learner()
    exam = factory.exam("practice")
    first = factory.attempt(exam, learner, "error")
    second = attempts.apply_action(first, Action.RESET_PRACTICE, Actor.learner(learner), now)
    assert first.status == "onboarding_reset"
    assert second.id != first.id and second.status == "created"
    assert second.is_sample_attempt is True
    assert attempts.current_attempt(exam, learner).id == second.id


def test_verified_practice_cannot_be_retried(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("practice"), learner, "verified")
    with pytest.raises(InvalidTransition):
        attempts.apply_action(attempt, Action.RESET_PRACTICE, Actor.learner(learner), now)


def test_removed_attempt_stays_findable_by_code(factory, now):
    learner, staff = factory.learner(), factory.course_staff()
    attempt = factory.attempt(factory.exam("proctored"), learner, "submitted",
                              external_id="EXT-1")
    code, attempt_id = attempt.attempt_code, attempt.id
    attempts.remove_attempt(attempt, Actor.staff(staff), now, "learner asked to retake")
    assert attempts.get_attempt_by_code(code) is None
    archived = attempts.find_archived_attempt(code)
    assert archived.attempt_id == attempt_id
    assert (archived.user_id, archived.external_id, archived.from_status) == (
        learner.id, "EXT-1", "submitted")
    assert archived.actor_id == staff.id and archived.reason == "learner asked to retake"
    with pytest.raises(NotFound):
        attempts.get_attempt(attempt_id)


def test_learner_cannot_remove_attempts(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(), learner, "submitted")
    with pytest.raises(PermissionDenied):
        attempts.remove_attempt(attempt, Actor.learner(learner), now)


class TestSetAttemptStatus:
    def test_completed_never_goes_back_to_incomplete(self, factory, now):
        attempt = factory.attempt(factory.exam(), factory.learner(), "verified")
        with pytest.raises(InvalidTransition, match="final"):
            attempts.set_attempt_status(attempt, "started", Actor.system("cli"), now)
        assert attempt.status == "verified"

    def test_completed_to_completed_is_allowed(self, factory, now):
        attempt = factory.attempt(factory.exam(), factory.learner(), "rejected")
        attempts.set_attempt_status(attempt, "verified", Actor.system("cli"), now, "appeal")
        assert attempt.status == "verified"
        row = factory.history(attempt.id)[-1]
        assert (row.action, row.from_status, row.to_status, row.reason) == (
            "set_status", "rejected", "verified", "appeal")

    def test_in_progress_back_to_pre_start_becomes_submitted(self, factory, now):
        attempt = factory.attempt(factory.exam(), factory.learner(), "started",
                                  started_minutes_ago=3)
        attempts.set_attempt_status(attempt, "created", Actor.system("cli"), now)
        assert attempt.status == "submitted"
        assert attempt.completed_at == now

    def test_timed_out_becomes_submitted_by_default(self, factory, now):
        attempt = factory.attempt(factory.exam(), factory.learner(), "started",
                                  started_minutes_ago=3)
        attempts.set_attempt_status(attempt, "timed_out", Actor.system("cli"), now)
        assert attempt.status == "submitted"

    @pytest.mark.parametrize("status", ["bogus", "expired", "eligible", ""])
    def test_unknown_or_virtual_status_is_refused(self, factory, now, status):
        attempt = factory.attempt(factory.exam(), factory.learner(), "created")
        with pytest.raises(InvalidTransition):
            attempts.set_attempt_status(attempt, status, Actor.system("cli"), now)
        assert factory.history(attempt.id) == []


def test_database_refuses_an_unknown_status(factory):
    attempt = factory.attempt(factory.exam(), factory.learner(), "created")
    attempt.status = "bogus"
    with pytest.raises(Exception, match="(?i)check"):
        db.session.flush()
    db.session.rollback()


def test_exam_type_follows_flags_and_backend(factory):
    assert exams.exam_type(factory.exam("timed")).value == "timed"
    assert exams.exam_type(factory.exam("proctored")).value == "proctored"
    assert exams.exam_type(factory.exam("practice")).value == "practice"
    assert exams.exam_type(factory.exam("onboarding")).value == "onboarding"


def test_only_enrolled_active_learners_take_exams(factory, now):
    exam = factory.exam()
    outsider = factory.user()
    with pytest.raises(PermissionDenied, match="not enrolled"):
        attempts.create_attempt(exam, outsider, Actor.learner(outsider), now)
    inactive = factory.learner()
    inactive.is_active_account = False
    with pytest.raises(PermissionDenied, match="inactive"):
        attempts.create_attempt(exam, inactive, Actor.learner(inactive), now)
    assert db.session.execute(select(Attempt)).first() is None


def test_declining_an_existing_attempt_cascades_too(factory, now):
    factory.course(allow_proctoring_opt_out=True)
    learner = factory.learner()
    first, second = factory.exam("proctored"), factory.exam("proctored")
    attempt = factory.attempt(first, learner, "created")
    attempts.apply_action(attempt, Action.DECLINE, Actor.learner(learner), now)
    assert attempt.status == "declined"
    assert attempts.current_attempt(second, learner).status == "declined"


def test_exam_learner_counts_follow_creates_resumes_resets_and_removals(factory, now):
    factory.course(allow_proctoring_opt_out=True)
    staff = factory.course_staff()
    exam, other, practice = factory.exam("timed"), factory.exam("proctored"), factory.exam(
        "practice")
    declined_too = factory.exam("proctored")
    a, b = factory.learner(), factory.learner()

    def counts():
        db.session.expire_all()
        return [db.session.get(Exam, e.id).learners_with_attempts
                for e in (exam, other, practice, declined_too)]

    first = attempts.create_attempt(exam, a, Actor.learner(a), now, start_clock=True)
    attempts.create_attempt(exam, b, Actor.learner(b), now)
    assert counts() == [2, 0, 0, 0]
    # Declining one proctored exam creates declined attempts on the others (cascade).
    attempts.create_attempt(other, a, Actor.learner(a), now, taking_as_proctored=False)
    assert counts() == [2, 1, 0, 1]
    # A resumed attempt is the same learner again.
    attempts.apply_action(first, Action.ERROR, Actor.learner(a), now)
    attempts.apply_action(first, Action.MARK_READY_TO_RESUME, Actor.staff(staff), now)
    second = attempts.apply_action(first, Action.RESUME, Actor.learner(a), now)
    assert counts() == [2, 1, 0, 1]
    # So is a practice retry.
    tried = attempts.create_attempt(practice, a, Actor.learner(a), now)
    attempts.apply_action(tried, Action.ERROR, Actor.learner(a), now)
    attempts.apply_action(tried, Action.RESET_PRACTICE, Actor.learner(a), now)
    assert counts() == [2, 1, 1, 1]
    # Removing one of two attempts keeps the learner; removing the last one does not.
    attempts.remove_attempt(first, Actor.staff(staff), now)
    assert counts() == [2, 1, 1, 1]
    attempts.remove_attempt(second, Actor.staff(staff), now)
    assert counts() == [1, 1, 1, 1]
    # The recount from the attempts themselves agrees.
    attempts.recount_learners()
    assert counts() == [1, 1, 1, 1]
