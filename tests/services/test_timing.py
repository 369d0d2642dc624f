"""Timing: extra time, due-date cap, resume, freezing at start, expiry on read and by sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt
from proctor_web.services import allowances, attempts, timing
from proctor_web.services.attempts import Action, Actor


def test_allowed_minutes_is_the_limit_plus_extra_time(now):
    assert timing.allowed_minutes(60, 0, now, None) == 60
    assert timing.allowed_minutes(60, 30, now, None) == 90


def test_allowed_minutes_is_cut_at_the_due_date(now):
    due = now + timedelta(minutes=45, seconds=59)
    assert timing.allowed_minutes(60, 30, now, due) == 45


def test_allowed_minutes_past_the_due_date_is_zero(now):
    assert timing.allowed_minutes(60, 0, now, now - timedelta(minutes=1)) == 0


def test_resumed_attempt_gets_the_saved_time_not_the_limit(now):
    assert timing.allowed_minutes(60, 30, now, None, resume_seconds=25 * 60 + 59) == 25


def test_resume_time_is_still_cut_at_the_due_date(now):
    assert timing.allowed_minutes(60, 0, now, now + timedelta(minutes=10),
                                  resume_seconds=25 * 60) == 10


def test_thresholds_are_shares_of_the_allowed_time():
    t = timing.thresholds(90, 0.2, 0.05)
    assert (t.low_seconds, t.critical_seconds) == (1080, 270)


def test_remaining_seconds(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(time_limit_mins=30), learner, "started",
                              started_minutes_ago=10)
    assert timing.remaining_seconds(attempt, now) == 20 * 60
    assert timing.remaining_seconds(attempt, now + timedelta(hours=1)) == 0
    not_started = factory.attempt(factory.exam(), factory.learner())
    assert timing.remaining_seconds(not_started, now) == 0


def test_start_freezes_limit_plus_extra_time(factory, now):
    learner = factory.learner()
    exam = factory.exam(time_limit_mins=60)
    allowances.set_allowance(exam, learner, "additional_time_granted", "15", None, now)
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                      start_clock=True)
    assert attempt.status == "started"
    assert attempt.started_at == now
    assert attempt.allowed_time_limit_mins == 75
    # Extra time granted after the start does not move the end (the end is frozen).
    allowances.set_allowance(exam, learner, "additional_time_granted", "45", None, now)
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).allowed_time_limit_mins == 75


def test_time_multiplier_becomes_minutes_per_exam(factory, now):
    learner = factory.learner()
    exam = factory.exam(time_limit_mins=45)
    allowances.set_allowance(exam, learner, "time_multiplier", "1.5", None, now)
    assert allowances.extra_minutes(learner.id, exam.id) == 22  # 22.5 rounds to even


def test_start_is_capped_by_the_due_date(factory, now):
    learner = factory.learner()
    exam = factory.exam(time_limit_mins=120, due_date=now + timedelta(minutes=50))
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                      start_clock=True)
    assert attempt.allowed_time_limit_mins == 50


def test_course_end_caps_an_exam_without_due_date(factory, now):
    factory.course(end_date=now + timedelta(minutes=20))
    learner = factory.learner()
    exam = factory.exam(time_limit_mins=60)
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now,
                                      start_clock=True)
    assert attempt.allowed_time_limit_mins == 20


def test_expiry_on_read_submits_with_completed_at_at_the_end(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(time_limit_mins=30), learner, "started",
                              started_minutes_ago=45)
    assert attempts.expire_if_due(attempt, now) is True
    assert attempt.status == "submitted"
    assert attempt.completed_at == now - timedelta(minutes=15)
    row = factory.history(attempt.id)[-1]
    assert (row.action, row.from_status, row.to_status, row.actor_kind) == (
        "expire", "started", "submitted", "system")


def test_expiry_on_read_leaves_a_running_attempt_alone(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(time_limit_mins=30), learner, "started",
                              started_minutes_ago=29)
    assert attempts.expire_if_due(attempt, now) is False
    assert attempt.status == "started"
    assert factory.history(attempt.id) == []


def test_expiry_also_ends_an_attempt_waiting_at_the_submit_page(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(time_limit_mins=30), learner, "ready_to_submit",
                              started_minutes_ago=31)
    assert attempts.expire_if_due(attempt, now) is True
    assert attempt.status == "submitted"


def test_timed_out_state_kept_when_configured(app, factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(time_limit_mins=30), learner, "started",
                              started_minutes_ago=31)
    app.config["ALLOW_TIMED_OUT_STATE"] = True
    try:
        attempts.expire_if_due(attempt, now)
    finally:
        app.config["ALLOW_TIMED_OUT_STATE"] = False
    assert attempt.status == "timed_out"


def test_sweep_submits_only_overdue_attempts(factory, now):
    exam = factory.exam(time_limit_mins=30)
    overdue = [factory.attempt(exam, factory.learner(), "started", started_minutes_ago=31)
               for _ in range(3)]
    waiting = factory.attempt(exam, factory.learner(), "ready_to_submit",
                              started_minutes_ago=60)
    running = factory.attempt(exam, factory.learner(), "started", started_minutes_ago=5)
    not_started = factory.attempt(exam, factory.learner(), "created")
    expired = attempts.sweep_expired(now, batch_size=2)
    assert sorted(expired) == sorted([a.id for a in overdue] + [waiting.id])
    db.session.expire_all()
    assert db.session.get(Attempt, running.id).status == "started"
    assert db.session.get(Attempt, not_started.id).status == "created"
    assert attempts.sweep_expired(now) == []


@pytest.mark.parametrize("minutes_ago, expected", [(30, True), (29, False)])
def test_expiry_boundary(factory, now, minutes_ago, expected):
    attempt = factory.attempt(factory.exam(time_limit_mins=30), factory.learner(), "started",
                              started_minutes_ago=minutes_ago)
    assert timing.has_run_out(attempt, now) is expected


def test_error_saves_remaining_time_and_resume_uses_it(factory, now):
    learner = factory.learner()
    staff = factory.course_staff()
    exam = factory.exam("timed", time_limit_mins=60)
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner),
                                      now - timedelta(minutes=20), start_clock=True)
    attempts.apply_action(attempt, Action.ERROR, Actor.learner(learner), now, "ping failed")
    assert attempt.status == "error"
    assert attempt.time_remaining_seconds == 40 * 60
    assert attempt.is_resumable is True

    attempts.apply_action(attempt, Action.MARK_READY_TO_RESUME, Actor.staff(staff), now)
    assert (attempt.ready_to_resume, attempt.is_resumable) == (True, False)

    later = now + timedelta(hours=2)
    resumed = attempts.apply_action(attempt, Action.RESUME, Actor.learner(learner), later)
    assert resumed.id != attempt.id
    assert resumed.status == "created"
    assert attempt.resumed is True and attempt.status == "error"
    attempts.apply_action(resumed, Action.START, Actor.learner(learner), later)
    assert resumed.allowed_time_limit_mins == 40
    assert timing.remaining_seconds(resumed, later) == 40 * 60
    # Resuming twice is refused: the first attempt is spent.
    with pytest.raises(Exception, match="not allowed this attempt to resume"):
        attempts.apply_action(attempt, Action.RESUME, Actor.learner(learner), later)
