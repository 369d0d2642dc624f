"""Every (status, action) pair of the attempt lifecycle.

The expectations below are written from the reference behaviour, not read from the code's
table: allowed pairs land where the reference says; every other pair raises
``InvalidTransition`` for people and is recorded as ignored for providers and the system.
"""

from __future__ import annotations

import pytest

from proctor_web.errors import InvalidTransition, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptStatus
from proctor_web.models.attempt import STORED_STATUSES
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor

S = AttemptStatus
CREATED, DSC, RTS = S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START
STARTED, RTSUB = S.STARTED, S.READY_TO_SUBMIT
SUBMITTED, SRR, VERIFIED, REJECTED = (
    S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.VERIFIED, S.REJECTED,
)
ERROR, TIMED_OUT = S.ERROR, S.TIMED_OUT

#: action -> {from status: status afterwards}. "deleted" means the row is gone.
EXPECTED: dict[Action, dict[AttemptStatus, str]] = {
    Action.DECLINE: {CREATED: "declined", DSC: "declined", RTS: "declined"},
    Action.CLICK_DOWNLOAD_SOFTWARE: {CREATED: DSC, DSC: DSC},
    Action.READY: {CREATED: RTS, DSC: RTS},
    Action.START: {CREATED: STARTED, DSC: STARTED, RTS: STARTED, RTSUB: STARTED},
    Action.STOP: {STARTED: RTSUB},
    Action.SUBMIT: {STARTED: SUBMITTED, RTSUB: SUBMITTED},
    Action.ERROR: {CREATED: ERROR, DSC: ERROR, RTS: ERROR, STARTED: ERROR},
    Action.EXPIRE: {STARTED: SUBMITTED, RTSUB: SUBMITTED},
    Action.VERIFY: {SUBMITTED: VERIFIED, SRR: VERIFIED, REJECTED: VERIFIED, ERROR: VERIFIED,
                    TIMED_OUT: VERIFIED},
    # A failing review (or staff) ends an attempt wherever it stands (edx: incomplete ->
    # completed is always legal).
    Action.REJECT: {SUBMITTED: REJECTED, SRR: REJECTED, VERIFIED: REJECTED, ERROR: REJECTED,
                    TIMED_OUT: REJECTED, CREATED: REJECTED, DSC: REJECTED, RTS: REJECTED,
                    STARTED: REJECTED, RTSUB: REJECTED},
    Action.REQUIRE_SECOND_REVIEW: {SUBMITTED: SRR, TIMED_OUT: SRR, CREATED: SRR, DSC: SRR,
                                   RTS: SRR, STARTED: SRR, RTSUB: SRR},
    # A review of an attempt never submitted errors it (edx-proctoring >= 6.1.2).
    Action.REVIEW_ERROR: {CREATED: ERROR, DSC: ERROR, RTS: ERROR, STARTED: ERROR, RTSUB: ERROR,
                          SUBMITTED: ERROR, SRR: ERROR, TIMED_OUT: ERROR},
    Action.MARK_READY_TO_RESUME: {ERROR: ERROR},
    Action.RESUME: {ERROR: ERROR},
    Action.RESET_PRACTICE: {SUBMITTED: "onboarding_reset", SRR: "onboarding_reset",
                            REJECTED: "onboarding_reset", ERROR: "onboarding_reset",
                            TIMED_OUT: "onboarding_reset"},
    Action.REMOVE: {status: "deleted" for status in STORED_STATUSES},
    # A proctoring tool's controls (LTI ACS): terminate submits; the others keep the status.
    Action.TERMINATE: {STARTED: SUBMITTED, RTSUB: SUBMITTED},
    Action.PAUSE: {STARTED: STARTED, RTSUB: RTSUB},
    Action.UNPAUSE: {STARTED: STARTED, RTSUB: RTSUB},
    Action.FLAG: {status: status for status in STORED_STATUSES},
}

#: Who naturally asks for each action.
ACTOR_KIND = {
    Action.DECLINE: "learner",
    Action.CLICK_DOWNLOAD_SOFTWARE: "learner",
    Action.READY: "provider",
    Action.START: "learner",
    Action.STOP: "learner",
    Action.SUBMIT: "learner",
    Action.ERROR: "learner",
    Action.EXPIRE: "system",
    Action.VERIFY: "staff",
    Action.REJECT: "staff",
    Action.REQUIRE_SECOND_REVIEW: "provider",
    Action.REVIEW_ERROR: "provider",
    Action.MARK_READY_TO_RESUME: "staff",
    Action.RESUME: "learner",
    Action.RESET_PRACTICE: "learner",
    Action.REMOVE: "staff",
    Action.TERMINATE: "provider",
    Action.PAUSE: "provider",
    Action.UNPAUSE: "provider",
    Action.FLAG: "provider",
}

#: The exam each action is exercised on, so its guard (if any) is satisfied.
EXAM_KIND = {
    Action.START: "timed",
    Action.RESET_PRACTICE: "practice",
}

PAIRS = [(status, action) for action in EXPECTED for status in STORED_STATUSES]


def _actor(kind: str, learner, staff) -> Actor:
    return {
        "learner": Actor.learner(learner),
        "staff": Actor.staff(staff),
        "provider": Actor.provider("mock"),
        "system": Actor.system("test"),
    }[kind]


def test_every_action_is_covered():
    # ADD_TIME carries a number of seconds: ``attempts.add_time``, tested with the ACS.
    covered = set(EXPECTED) | {Action.CREATE, Action.SET_STATUS, Action.ADD_TIME}
    assert covered == set(Action)


@pytest.mark.parametrize(
    ("status", "action"), PAIRS, ids=[f"{s.value}-{a.value}" for s, a in PAIRS]
)
def test_transition_pair(factory, now, status, action):
    factory.course(allow_proctoring_opt_out=True)
    learner = factory.learner()
    staff = factory.course_staff()
    exam = factory.exam(EXAM_KIND.get(action, "proctored"))
    flags = {}
    if action is Action.MARK_READY_TO_RESUME:
        flags["is_resumable"] = True
    if action is Action.RESUME:
        flags["ready_to_resume"] = True
    attempt = factory.attempt(exam, learner, status.value, **flags)
    attempt_id = attempt.id
    actor = _actor(ACTOR_KIND[action], learner, staff)
    expected = EXPECTED[action].get(status)
    history_before = len(factory.history(attempt_id))

    if expected is None:
        if actor.tolerant:
            result = attempts.apply_action(attempt, action, actor, now)
            assert result.status == status.value
            last = factory.history(attempt_id)[-1]
            assert last.ignored is True
            assert (last.from_status, last.to_status) == (status.value, status.value)
        else:
            with pytest.raises(InvalidTransition):
                attempts.apply_action(attempt, action, actor, now)
            assert db.session.get(Attempt, attempt_id).status == status.value
            assert len(factory.history(attempt_id)) == history_before
        return

    attempts.apply_action(attempt, action, actor, now)
    if expected == "deleted":
        assert db.session.get(Attempt, attempt_id) is None
        assert factory.history(attempt_id)[-1].action == "remove"
        return
    refreshed = db.session.get(Attempt, attempt_id)
    assert refreshed.status == str(expected)
    if status != expected or action in (Action.MARK_READY_TO_RESUME, Action.RESUME):
        row = factory.history(attempt_id)[-1]
        assert row.action == action.value
        assert row.from_status == status.value
        assert row.to_status == str(expected)
        assert row.ignored is False
        assert row.actor_kind == actor.kind.value


@pytest.mark.parametrize("status", sorted(STORED_STATUSES))
def test_create_refused_when_an_attempt_exists(factory, now, status):
    learner = factory.learner()
    # Only a practice retry leaves onboarding_reset behind, so only practice exams have it.
    exam = factory.exam("practice" if status is S.ONBOARDING_RESET else "proctored")
    factory.attempt(exam, learner, status.value)
    if status is S.ONBOARDING_RESET:
        created = attempts.create_attempt(exam, learner, Actor.learner(learner), now)
        assert created.status == S.CREATED
        return
    with pytest.raises(InvalidTransition):
        attempts.create_attempt(exam, learner, Actor.learner(learner), now)


def test_unknown_action_is_a_clear_invalid_transition(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam(), learner)
    with pytest.raises(InvalidTransition, match="Unknown action 'fly'"):
        attempts.apply_action(attempt, "fly", Actor.learner(learner), now)


def test_proctored_attempt_cannot_start_before_the_provider_is_ready(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "download_software_clicked")
    with pytest.raises(InvalidTransition, match="not reported that it is ready"):
        attempts.apply_action(attempt, Action.START, Actor.learner(learner), now)


def test_learner_cannot_act_on_someone_elses_attempt(factory, now):
    owner, other = factory.learner(), factory.learner()
    attempt = factory.attempt(factory.exam(), owner)
    with pytest.raises(PermissionDenied):
        attempts.apply_action(attempt, Action.START, Actor.learner(other), now)


def test_only_staff_mark_ready_to_resume(factory, now):
    """edx-proctoring lets learners resume themselves; that is a loophole, not a feature."""
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "error", is_resumable=True)
    with pytest.raises(PermissionDenied):
        attempts.apply_action(attempt, Action.MARK_READY_TO_RESUME, Actor.learner(learner), now)
    assert attempt.ready_to_resume is False


def test_learner_cannot_verify_their_own_attempt(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "submitted")
    with pytest.raises(PermissionDenied):
        attempts.apply_action(attempt, Action.VERIFY, Actor.learner(learner), now)


def test_decline_refused_where_the_course_forbids_opt_out(factory, now):
    factory.course(allow_proctoring_opt_out=False)
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner)
    with pytest.raises(InvalidTransition, match="does not allow"):
        attempts.apply_action(attempt, Action.DECLINE, Actor.learner(learner), now)


def test_repeated_provider_review_is_recorded_and_ignored(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "submitted")
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    attempts.apply_action(attempt, Action.VERIFY, Actor.provider("mock"), now)
    rows = factory.history(attempt.id)
    assert [(r.to_status, r.ignored) for r in rows] == [("verified", False), ("verified", True)]


def test_stale_ready_callback_never_moves_a_started_attempt_back(factory, now):
    learner = factory.learner()
    attempt = factory.attempt(factory.exam("proctored"), learner, "started",
                              started_minutes_ago=5)
    attempts.apply_action(attempt, Action.READY, Actor.provider("mock"), now)
    assert attempt.status == "started"


def test_practice_attempts_are_retried_not_resumed(factory, now):
    """Whichever way staff ask (dashboard or API), the lifecycle itself refuses."""
    learner, staff = factory.learner(), factory.course_staff()
    attempt = factory.attempt(factory.exam("practice"), learner, "error", is_resumable=True)
    with pytest.raises(InvalidTransition, match="retried by the learner, not resumed"):
        attempts.apply_action(attempt, Action.MARK_READY_TO_RESUME, Actor.staff(staff), now)
    assert attempt.ready_to_resume is False
