"""Exam services, review policies, allowances and onboarding status; bad input to each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from proctor_web.errors import AlreadyExists, BadRequest, InvalidTransition, NotFound
from proctor_web.extensions import db
from proctor_web.models import (
    AllowanceHistory,
    Exam,
    ReviewPolicyHistory,
)
from proctor_web.services import allowances, exams, onboarding
from tests.factories import COURSE_ID

VALID = {"exam_name": "Final", "time_limit_mins": 90}


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


class TestCreateExam:
    def test_creates_with_defaults(self, app, now):
        exam = exams.create_exam(COURSE_ID, "final", {**VALID, "is_proctored": "true",
                                                       "due_date": "2026-12-01T17:00:00Z"},
                                 None, now)
        assert exam.is_proctored is True and exam.is_active is True
        assert exam.backend == "mock"  # PROCTOR_BACKENDS DEFAULT of the test config
        assert exam.due_date == datetime(2026, 12, 1, 17, tzinfo=UTC)
        assert exam.external_id == f"mock-exam-{exam.id}"  # pushed to the provider

    @pytest.mark.parametrize(
        "fields, message",
        [
            ({"exam_name": "X", "time_limit_mins": -5}, "time_limit_mins: must be at least 1"),
            ({"exam_name": "X", "time_limit_mins": 0}, "time_limit_mins: must be at least 1"),
            ({"exam_name": "X", "time_limit_mins": "ten"}, "time_limit_mins: expected a whole"),
            ({"exam_name": "", "time_limit_mins": 10}, "exam_name: this field is required"),
            ({"time_limit_mins": 10}, "exam_name: this field is required"),
            ({**VALID, "is_proctored": "maybe"}, "is_proctored: expected true or false"),
            ({**VALID, "due_date": "next tuesday"}, "due_date: expected an ISO-8601"),
            ({**VALID, "backend": "nope"}, "backend: 'nope' is not configured"),
            ({**VALID, "content_url": "javascript:alert(1)"}, "content_url: must be"),
        ],
    )
    def test_bad_input_is_refused_with_a_message(self, app, now, fields, message):
        with pytest.raises(BadRequest, match=message):
            exams.create_exam(COURSE_ID, "x", fields, None, now)
        assert count(Exam) == 0

    def test_duplicate_content_id_in_a_course_is_refused(self, app, now):
        exams.create_exam(COURSE_ID, "final", VALID, None, now)
        with pytest.raises(AlreadyExists, match="already exists"):
            exams.create_exam(COURSE_ID, "final", VALID, None, now)
        exams.create_exam("course-v1:Other+X+1", "final", VALID, None, now)  # other course: fine
        assert count(Exam) == 2

    def test_unknown_exam(self, app):
        with pytest.raises(NotFound, match="Exam 999 does not exist"):
            exams.get_exam(999)
        with pytest.raises(NotFound):
            exams.get_exam_by_content_id(COURSE_ID, "missing")


def test_update_changes_only_given_fields(factory, now):
    exam = factory.exam(time_limit_mins=30, exam_name="Quiz")
    exams.update_exam(exam, {"time_limit_mins": "45"}, None, now)
    assert (exam.time_limit_mins, exam.exam_name) == (45, "Quiz")
    with pytest.raises(BadRequest):
        exams.update_exam(exam, {"time_limit_mins": -1}, None, now)
    assert exam.time_limit_mins == 45


def test_deactivate(factory, now):
    exam = factory.exam()
    exams.deactivate_exam(exam, None, now)
    assert exam.is_active is False
    assert exams.course_exams(COURSE_ID) == []


class TestRegistration:
    def test_upserts_by_content_id_and_deactivates_the_rest(self, factory, now):
        kept = factory.exam(content_id="a", time_limit_mins=10)
        dropped = factory.exam("proctored", content_id="b")
        result = exams.register_exams(COURSE_ID, [
            {"content_id": "a", "exam_name": "A v2", "time_limit_mins": 20},
            {"content_id": "c", "exam_name": "C", "time_limit_mins": 30, "is_proctored": True},
        ], None, now)
        assert [e.content_id for e in result] == ["a", "c"]
        assert (kept.exam_name, kept.time_limit_mins, kept.is_active) == ("A v2", 20, True)
        assert (dropped.is_active, dropped.is_proctored) == (False, False)
        assert exams.find_exam(COURSE_ID, "c").is_proctored is True

    def test_one_bad_item_changes_nothing(self, factory, now):
        exam = factory.exam(content_id="a", time_limit_mins=10)
        with pytest.raises(BadRequest, match="exam #2: time_limit_mins"):
            exams.register_exams(COURSE_ID, [
                {"content_id": "a", "exam_name": "A", "time_limit_mins": 99},
                {"content_id": "b", "exam_name": "B", "time_limit_mins": -3},
            ], None, now)
        assert exam.time_limit_mins == 10 and exam.is_active is True
        assert count(Exam) == 1

    def test_duplicate_content_ids_in_the_list(self, app, now):
        with pytest.raises(BadRequest, match="appears twice"):
            exams.register_exams(COURSE_ID, [
                {"content_id": "a", "exam_name": "A", "time_limit_mins": 5},
                {"content_id": "a", "exam_name": "A", "time_limit_mins": 5},
            ], None, now)


def test_review_policy_history(factory, now):
    staff = factory.course_staff()
    exam = factory.exam("proctored")
    first = exams.set_review_policy(exam, "Closed book", staff, now)
    exams.set_review_policy(exam, "Closed book", staff, now)  # unchanged: no history
    exams.set_review_policy(exam, "Open book", staff, now)
    assert exams.get_review_policy(exam).review_policy == "Open book"
    exams.set_review_policy(exam, "", staff, now)
    assert exams.get_review_policy(exam) is None
    rows = db.session.execute(select(ReviewPolicyHistory).order_by(ReviewPolicyHistory.id)
                              ).scalars().all()
    assert [(r.original_id, r.review_policy, r.action) for r in rows] == [
        (first.id, "Closed book", "update"), (first.id, "Open book", "delete")]


class TestAllowances:
    def test_add_update_delete_keep_history(self, factory, now):
        staff, learner = factory.course_staff(), factory.learner()
        exam = factory.exam("proctored")
        allowances.set_allowance(exam, learner, "additional_time_granted", "10", staff, now)
        allowances.set_allowance(exam, learner, "additional_time_granted", "20", staff, now)
        allowances.delete_allowance(exam, learner, "additional_time_granted", staff, now)
        assert allowances.extra_minutes(learner.id, exam.id) == 0
        rows = allowances.history_for(learner.id, exam.id)
        assert [(r.action, r.value, r.actor_id) for r in rows] == [
            ("create", "10", staff.id), ("update", "20", staff.id), ("delete", "20", staff.id)]

    @pytest.mark.parametrize(
        "key, value, message",
        [
            ("additional_time_granted", "-5", "whole number of minutes"),
            ("additional_time_granted", "1.5", "whole number of minutes"),
            ("additional_time_granted", "", "whole number of minutes"),
            ("time_multiplier", "0.5", "greater than 1"),
            ("time_multiplier", "abc", "a time multiplier is a number"),
            ("review_policy_exception", "  ", "needs some text"),
            ("bogus", "1", "allowance_type: expected one of"),
        ],
    )
    def test_bad_values(self, factory, now, key, value, message):
        learner, exam = factory.learner(), factory.exam("proctored")
        with pytest.raises(BadRequest, match=message):
            allowances.set_allowance(exam, learner, key, value, None, now)
        assert count(AllowanceHistory) == 0

    def test_policy_exception_only_on_proctored_exams(self, factory, now):
        learner = factory.learner()
        with pytest.raises(BadRequest, match="proctored exams only"):
            allowances.set_allowance(factory.exam("timed"), learner, "review_policy_exception",
                                     "calculator allowed", None, now)

    def test_inactive_exam(self, factory, now):
        with pytest.raises(InvalidTransition, match="not active"):
            allowances.set_allowance(factory.exam(is_active=False), factory.learner(),
                                     "additional_time_granted", "5", None, now)

    def test_bulk_reports_each_pair(self, factory, now):
        a, b = factory.learner(), factory.learner()
        proctored, timed = factory.exam("proctored"), factory.exam("timed")
        results = allowances.set_allowances_bulk(
            [proctored, timed], [a, b], "review_policy_exception", "notes allowed", None, now)
        assert [(r.exam_id, r.ok) for r in results] == [
            (proctored.id, True), (proctored.id, True), (timed.id, False), (timed.id, False)]
        assert allowances.review_policy_exception(a.id, proctored.id) == "notes allowed"


class TestOnboardingStatus:
    def test_no_attempt(self, factory, now):
        factory.exam("onboarding")
        learner = factory.learner()
        assert onboarding.learner_onboarding(learner, COURSE_ID, now).status is None

    def test_latest_attempt_status(self, factory, now):
        learner = factory.learner()
        factory.attempt(factory.exam("onboarding"), learner, "submitted")
        result = onboarding.learner_onboarding(learner, COURSE_ID, now)
        assert result.status == "submitted" and result.expiration_date is None
        assert onboarding.instructor_status(result).value == "submitted"

    def test_verified_here_expires_after_a_year(self, factory, now):
        learner = factory.learner()
        attempt = factory.attempt(factory.exam("onboarding"), learner, "verified")
        result = onboarding.learner_onboarding(learner, COURSE_ID, now)
        assert result.status == "verified"
        assert result.expiration_date == attempt.modified + timedelta(days=365)
        later = now + timedelta(days=366)
        assert onboarding.learner_onboarding(learner, COURSE_ID, later).status == "expired"

    def test_approved_in_another_course_with_the_same_backend(self, factory, now):
        learner = factory.learner()
        factory.exam("onboarding")
        elsewhere = factory.exam("onboarding", course_id="course-v1:Other+O+1")
        factory.attempt(elsewhere, learner, "verified")
        result = onboarding.learner_onboarding(learner, COURSE_ID, now)
        assert result.status == "other_course_approved"
        assert onboarding.instructor_status(result).value == "other_course_approved"

    def test_course_without_onboarding_exam(self, factory, now):
        factory.exam("proctored")
        assert onboarding.onboarding_exams(COURSE_ID) == []
