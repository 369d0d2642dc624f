"""The attempt lifecycle: one transition table, and the only code that changes a status.

Every change goes through ``_change``: it locks the attempt row, checks the table, applies
the effects of entering the new status, writes one history row and logs one line. People
asking for something the table does not allow get ``InvalidTransition``; providers and the
system repeating or sending stale events get a history row marked ``ignored`` instead, so a
late callback can never drag an attempt backwards.
"""

from __future__ import annotations

import enum
import logging
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from proctor_web.backends.base import (
    AttemptRegistration,
    OnboardingRequired,
    RegistrationFailed,
)
from proctor_web.errors import (
    AttemptAlreadyExists,
    BackendError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.i18n import N_
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    AttemptStatus,
    Exam,
    ReviewPolicy,
    User,
)
from proctor_web.models.attempt import (
    COMPLETED,
    IN_PROGRESS,
    INCOMPLETE,
    ONBOARDING_ERRORS,
    PRE_STARTED,
    REVIEWABLE,
    VIRTUAL_STATUSES,
)
from proctor_web.services import allowances, courses, events, exams, provider_sync, timing
from proctor_web.services.obscured_ids import obscured_user_id  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)
S = AttemptStatus


class Action(enum.StrEnum):
    CREATE = "create"
    DECLINE = "decline"
    CLICK_DOWNLOAD_SOFTWARE = "click_download_software"
    READY = "ready"
    START = "start"
    STOP = "stop"
    SUBMIT = "submit"
    ERROR = "error"
    EXPIRE = "expire"
    VERIFY = "verify"
    REJECT = "reject"
    REQUIRE_SECOND_REVIEW = "require_second_review"
    REVIEW_ERROR = "review_error"
    MARK_READY_TO_RESUME = "mark_ready_to_resume"
    RESUME = "resume"
    RESET_PRACTICE = "reset_practice"
    REMOVE = "remove"
    SET_STATUS = "set_status"
    # A proctoring tool's controls (LTI Assessment Control Service).
    TERMINATE = "terminate"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    ADD_TIME = "add_time"
    FLAG = "flag"


class ActorKind(enum.StrEnum):
    LEARNER = "learner"
    STAFF = "staff"
    PROVIDER = "provider"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who asks for a change. Learners act on their own attempts only."""

    kind: ActorKind
    user: User | None = None
    label: str = ""

    @classmethod
    def learner(cls, user: User) -> Actor:
        return cls(ActorKind.LEARNER, user)

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(ActorKind.STAFF, user)

    @classmethod
    def provider(cls, backend_name: str) -> Actor:
        return cls(ActorKind.PROVIDER, None, backend_name)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, None, label)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def tolerant(self) -> bool:
        """Machines resend and race; their out-of-place events are recorded, not refused."""
        return self.kind in (ActorKind.PROVIDER, ActorKind.SYSTEM)

    def __str__(self) -> str:
        if self.user is not None:
            return f"{self.kind}:{self.user.username}"
        return f"{self.kind}:{self.label}"


#: A guard returns the reason the rule does not apply to this attempt, or None. The reason
#: is an untranslated message (marked with ``N_``): history keeps it in English, and it is
#: translated only when it is refused to a person.
Guard = Callable[[Attempt], str | None]

L, ST, P, SY = ActorKind.LEARNER, ActorKind.STAFF, ActorKind.PROVIDER, ActorKind.SYSTEM


@dataclass(frozen=True)
class Rule:
    sources: frozenset[AttemptStatus]
    #: None keeps the status (the action changes flags or creates a sibling attempt).
    target: AttemptStatus | None
    actors: frozenset[ActorKind]
    guard: Guard | None = None


def _unproctored_or_set_up(attempt: Attempt) -> str | None:
    if attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED) and attempt.taking_as_proctored:
        return N_("the proctoring software has not reported that it is ready yet")
    return None


def _resumable(attempt: Attempt) -> str | None:
    if attempt.is_sample_attempt:
        return N_("practice attempts are retried by the learner, not resumed")
    return None if attempt.is_resumable else N_("this attempt cannot be resumed")


def _ready_to_resume(attempt: Attempt) -> str | None:
    if attempt.ready_to_resume and not attempt.resumed:
        return None
    return N_("course staff have not allowed this attempt to resume")


def _may_opt_out(attempt: Attempt) -> str | None:
    if attempt.is_sample_attempt or not attempt.exam.is_proctored:
        return N_("only proctored exams can be taken without proctoring")
    if not exams.allows_opt_out(attempt.exam):
        return N_("this course does not allow taking proctored exams without proctoring")
    return None


def _sample(attempt: Attempt) -> str | None:
    return None if attempt.is_sample_attempt else N_("only practice attempts can be retried")


_ANY_STORED = frozenset(s for s in S if s not in VIRTUAL_STATUSES)

#: The lifecycle. Read it as: ``action`` moves an attempt from any of ``sources`` to
#: ``target`` when asked by one of ``actors`` and the guard has no objection.
TRANSITIONS: dict[Action, Rule] = {
    # Creation is not a move of an existing attempt; see ``create_attempt``.
    Action.CREATE: Rule(frozenset(), S.CREATED, frozenset({L, ST})),
    Action.DECLINE: Rule(PRE_STARTED, S.DECLINED, frozenset({L, SY}), _may_opt_out),
    Action.CLICK_DOWNLOAD_SOFTWARE: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED}), S.DOWNLOAD_SOFTWARE_CLICKED,
        frozenset({L}),
    ),
    Action.READY: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED}), S.READY_TO_START, frozenset({P, SY})
    ),
    Action.START: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START, S.READY_TO_SUBMIT}),
        S.STARTED,
        frozenset({L}),
        _unproctored_or_set_up,
    ),
    Action.STOP: Rule(frozenset({S.STARTED}), S.READY_TO_SUBMIT, frozenset({L})),
    Action.SUBMIT: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({L})),
    # A learner at the submit page is done; a failing ping there must not turn their work
    # into an error (edx-proctoring PR #654).
    Action.ERROR: Rule(PRE_STARTED | {S.STARTED}, S.ERROR, frozenset({L, ST, P, SY})),
    Action.EXPIRE: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({SY})),
    Action.VERIFY: Rule(REVIEWABLE - {S.VERIFIED}, S.VERIFIED, frozenset({P, ST})),
    # A failing review ends an attempt wherever it stands, as in edx-proctoring (any
    # incomplete -> completed move is legal there): the provider saw enough.
    Action.REJECT: Rule((REVIEWABLE - {S.REJECTED}) | INCOMPLETE, S.REJECTED,
                        frozenset({P, ST})),
    Action.REQUIRE_SECOND_REVIEW: Rule(
        INCOMPLETE | {S.SUBMITTED, S.TIMED_OUT}, S.SECOND_REVIEW_REQUIRED, frozenset({P})
    ),
    # A review of an attempt never submitted (a passing one included, as in edx-proctoring
    # >= 6.1.2) cannot vouch for it: it errors wherever the attempt stands.
    Action.REVIEW_ERROR: Rule(
        INCOMPLETE | {S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.TIMED_OUT}, S.ERROR, frozenset({P})
    ),
    Action.MARK_READY_TO_RESUME: Rule(frozenset({S.ERROR}), None, frozenset({ST}), _resumable),
    Action.RESUME: Rule(frozenset({S.ERROR}), None, frozenset({L}), _ready_to_resume),
    Action.RESET_PRACTICE: Rule(
        frozenset(
            {S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.REJECTED, S.ERROR, S.TIMED_OUT}
        ),
        S.ONBOARDING_RESET,
        frozenset({L}),
        _sample,
    ),
    Action.REMOVE: Rule(_ANY_STORED, None, frozenset({ST, SY})),
    # The proctoring tool ends a session it watches: the work is submitted as it stands.
    Action.TERMINATE: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({P})),
    Action.PAUSE: Rule(IN_PROGRESS, None, frozenset({P})),
    Action.UNPAUSE: Rule(IN_PROGRESS, None, frozenset({P})),
    Action.ADD_TIME: Rule(INCOMPLETE, None, frozenset({P, ST})),
    Action.FLAG: Rule(_ANY_STORED, None, frozenset({P})),
}

#: Actions that change the attempt's clock or only record something, keeping its status.
_CLOCK_ACTIONS = frozenset({Action.PAUSE, Action.UNPAUSE, Action.ADD_TIME, Action.FLAG})


# Lookups ----------------------------------------------------------------------------------


def get_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    return attempt


def get_attempt_by_external_id(external_id: str, backend: str | None = None) -> Attempt | None:
    """The attempt a provider knows by ``external_id``; with ``backend``, only one of that
    provider's exams (two providers may hand out the same id)."""
    query = select(Attempt).where(Attempt.external_id == external_id)
    if backend is not None:
        query = query.join(Exam, Attempt.exam_id == Exam.id).where(Exam.backend == backend)
    return db.session.execute(query.order_by(Attempt.id.desc())).scalars().first()


def get_attempt_by_code(attempt_code: str) -> Attempt | None:
    return db.session.execute(
        select(Attempt).where(Attempt.attempt_code == attempt_code)
    ).scalar_one_or_none()


def find_archived_attempt(attempt_code: str) -> AttemptHistory | None:
    """The last history row of a removed attempt, so a late review can still be filed."""
    return db.session.execute(
        select(AttemptHistory)
        .where(AttemptHistory.attempt_code == attempt_code)
        .order_by(AttemptHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def current_attempt(exam: Exam, user: User) -> Attempt | None:
    """The attempt a learner's page is about: the newest one on this exam."""
    return db.session.execute(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)
        .order_by(Attempt.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def attempts_for(exam: Exam, user: User) -> list[Attempt]:
    return list(
        db.session.execute(
            select(Attempt)
            .where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)
            .order_by(Attempt.id)
        ).scalars()
    )


def history_of(attempt_id: int) -> list[AttemptHistory]:
    return list(
        db.session.execute(
            select(AttemptHistory)
            .where(AttemptHistory.attempt_id == attempt_id)
            .order_by(AttemptHistory.id)
        ).scalars()
    )


def active_attempt(user: User) -> Attempt | None:
    """The learner's exam in progress, if any (there should be at most one)."""
    return db.session.execute(
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.status.in_([s.value for s in IN_PROGRESS]))
        .order_by(Attempt.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


# The engine -------------------------------------------------------------------------------


def _lock(attempt: Attempt) -> Attempt:
    """Re-read the attempt under a row lock so the check and the change see the same row."""
    locked = db.session.execute(
        select(Attempt)
        .where(Attempt.id == attempt.id)
        .with_for_update(of=Attempt)
        .execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()
    if locked is None:
        raise NotFound(_("Attempt %(id)s no longer exists.", id=attempt.id))
    return locked


def _record(
    attempt: Attempt,
    action: Action,
    from_status: str | None,
    to_status: str | None,
    actor: Actor,
    now: datetime,
    reason: str = "",
    ignored: bool = False,
) -> AttemptHistory:
    row = AttemptHistory(
        attempt_id=attempt.id,
        attempt_code=attempt.attempt_code,
        user_id=attempt.user_id,
        exam_id=attempt.exam_id,
        external_id=attempt.external_id,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.user_id,
        actor_kind=actor.kind.value,
        reason=reason,
        ignored=ignored,
        created_at=now,
    )
    db.session.add(row)
    log.info(
        "attempt %s %s %s: %s -> %s by %s%s%s",
        attempt.id,
        attempt.attempt_code,
        action.value,
        from_status,
        to_status,
        actor,
        " (ignored)" if ignored else "",
        f" [{reason}]" if reason else "",
        # Fields of the JSON log line (PROCTOR_LOG_FORMAT=json).
        extra={"attempt_id": attempt.id, "user_id": attempt.user_id, "action": action.value,
               "from_status": from_status, "to_status": to_status,
               "actor": actor.kind.value, "ignored": ignored},
    )
    return row


def _check_actor(attempt: Attempt, rule: Rule, action: Action, actor: Actor) -> None:
    if actor.kind not in rule.actors:
        raise PermissionDenied(_("'%(action)s' cannot be done by a %(actor)s.",
                                 action=action.value, actor=actor.kind.value))
    if actor.kind is ActorKind.LEARNER and actor.user_id != attempt.user_id:
        raise PermissionDenied(_("You can only act on your own exam attempts."))


def _refuse_or_ignore(
    attempt: Attempt, action: Action, actor: Actor, now: datetime, why: str,
    values: dict[str, str] | None = None,
) -> Attempt:
    """``why`` is an untranslated message with ``%(name)s`` placeholders filled by ``values``:
    ignored events keep it in English in the history, people get it in their language."""
    if actor.tolerant:
        reason = why % values if values else why  # the history stays in English
        _record(attempt, action, attempt.status, attempt.status, actor, now, reason,
                ignored=True)
        db.session.flush()
        return attempt
    raise InvalidTransition(_(why, **(values or {})), status=attempt.status,
                            action=action.value)


def apply_action(
    attempt: Attempt,
    action: Action | str,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> Attempt:
    """Move ``attempt`` by ``action``; the single entry point for status changes."""
    try:
        action = Action(action)
    except ValueError:
        raise InvalidTransition(_(
            "Unknown action %(action)s. Known actions: %(known)s",
            action=repr(action),
            known=", ".join(a.value for a in Action if a not in _SPECIAL_ACTIONS),
        )) from None
    if action in _SPECIAL_ACTIONS or action is Action.ADD_TIME:
        raise InvalidTransition(_("'%(action)s' is not an action on an existing attempt.",
                                  action=action.value))
    rule = TRANSITIONS[action]
    _check_actor(attempt, rule, action, actor)
    attempt = _lock(attempt)
    current = S(attempt.status)

    if current not in rule.sources:
        return _refuse_or_ignore(
            attempt, action, actor, now,
            N_("cannot %(action)s an attempt that is %(status)s"),
            {"action": action.value.replace("_", " "), "status": current.value},
        )
    if rule.guard is not None and (objection := rule.guard(attempt)) is not None:
        return _refuse_or_ignore(attempt, action, actor, now, objection)

    if action is Action.MARK_READY_TO_RESUME:
        attempt.ready_to_resume = True
        attempt.is_resumable = False
        _record(attempt, action, current, current, actor, now, reason)
        db.session.flush()
        return attempt
    if action is Action.RESUME:
        return _resume(attempt, actor, now, reason)
    if action is Action.RESET_PRACTICE:
        return _reset_practice(attempt, actor, now, reason)
    if action is Action.REMOVE:
        _remove(attempt, actor, now, reason)
        return attempt
    if action in _CLOCK_ACTIONS:
        _control_clock(attempt, action, actor, now, reason)
        return attempt

    target = rule.target
    assert target is not None
    if action is Action.EXPIRE and current_app.config["ALLOW_TIMED_OUT_STATE"]:
        target = S.TIMED_OUT
    if target == current:
        # A repeated click (e.g. "start system check" twice) changes nothing.
        return attempt
    _change(attempt, action, current, target, actor, now, reason)
    if action is Action.DECLINE and actor.kind is ActorKind.LEARNER:
        _cascade_decline(attempt, actor, now)
    return attempt


_SPECIAL_ACTIONS = frozenset({Action.CREATE, Action.SET_STATUS})


def _change(
    attempt: Attempt,
    action: Action,
    current: AttemptStatus,
    target: AttemptStatus,
    actor: Actor,
    now: datetime,
    reason: str,
) -> None:
    _enter(attempt, current, target, action, now)
    attempt.status = target.value
    attempt.modified = now
    _record(attempt, action, current.value, target.value, actor, now, reason)
    db.session.flush()
    events.attempt_changed(attempt, current.value, target.value, action, actor, now)
    _after(attempt, current, target, actor, now)


def _enter(
    attempt: Attempt, current: AttemptStatus, target: AttemptStatus, action: Action, now: datetime
) -> None:
    """Field changes that come with entering ``target``."""
    if target not in IN_PROGRESS and attempt.paused_at is not None:
        _close_pause(attempt, now)
    if target is S.STARTED and attempt.started_at is None:
        # Time is frozen at the first start, never at creation (edx-proctoring PR #412).
        attempt.started_at = now
        attempt.allowed_time_limit_mins = compute_allowed_minutes(attempt, now)
    if target is S.ERROR:
        if current in IN_PROGRESS:
            attempt.time_remaining_seconds = timing.remaining_seconds(attempt, now)
        attempt.is_resumable = not (attempt.ready_to_resume or attempt.resumed)
    if target in (S.SUBMITTED, S.TIMED_OUT) and current in IN_PROGRESS:
        end = timing.ends_at(attempt)
        attempt.completed_at = min(end, now) if (action is Action.EXPIRE and end) else now
        attempt.is_resumable = False
    if target is S.DECLINED:
        attempt.taking_as_proctored = False
        attempt.external_id = None
    if target in COMPLETED and attempt.completed_at is None:
        attempt.completed_at = now


def _after(
    attempt: Attempt, current: AttemptStatus, target: AttemptStatus, actor: Actor, now: datetime
) -> None:
    """Consequences for other rows, once the change itself is recorded."""
    if target in COMPLETED and attempt.is_sample_attempt and target not in ONBOARDING_ERRORS:
        backend = exams.backend_for(attempt.exam)
        if backend is not None and backend.supports_onboarding:
            _clear_onboarding_errors(attempt.user_id, actor, now)


def compute_allowed_minutes(attempt: Attempt, now: datetime) -> int:
    exam = attempt.exam
    return timing.allowed_minutes(
        exam.time_limit_mins,
        allowances.extra_minutes(attempt.user_id, exam.id),
        now,
        exams.due_date_for(exam),
        resume_seconds=attempt.time_remaining_seconds,
    )


# The clock ---------------------------------------------------------------------------------


def _close_pause(attempt: Attempt, now: datetime) -> None:
    assert attempt.paused_at is not None
    # Whole seconds, rounded up: a learner never loses a fraction of a second to a pause.
    attempt.paused_seconds = (attempt.paused_seconds or 0) + max(
        0, math.ceil((now - attempt.paused_at).total_seconds()))
    attempt.paused_at = None


def _control_clock(
    attempt: Attempt, action: Action, actor: Actor, now: datetime, reason: str,
    seconds: int = 0,
) -> None:
    """Pause, unpause, extra time or a flag: the status stays, the history says what happened.

    A pause that is already running (or an unpause of a running clock) changes nothing and
    is recorded as ignored, like any repeated provider event.
    """
    if action is Action.PAUSE:
        if attempt.paused_at is not None:
            _refuse_or_ignore(attempt, action, actor, now, N_("the clock is already paused"))
            return
        attempt.paused_at = now
    elif action is Action.UNPAUSE:
        if attempt.paused_at is None:
            _refuse_or_ignore(attempt, action, actor, now, N_("the clock is not paused"))
            return
        _close_pause(attempt, now)
    elif action is Action.ADD_TIME:
        attempt.extra_seconds = (attempt.extra_seconds or 0) + seconds
    attempt.modified = now
    _record(attempt, action, attempt.status, attempt.status, actor, now, reason)
    db.session.flush()


def add_time(attempt: Attempt, seconds: int, actor: Actor, now: datetime,
             reason: str = "") -> Attempt:
    """Give an attempt ``seconds`` more (a proctoring tool's ``update``), through the table."""
    if seconds <= 0:
        raise InvalidTransition(_("Extra time must be a positive number of seconds."))
    rule = TRANSITIONS[Action.ADD_TIME]
    _check_actor(attempt, rule, Action.ADD_TIME, actor)
    attempt = _lock(attempt)
    if S(attempt.status) not in rule.sources:
        return _refuse_or_ignore(
            attempt, Action.ADD_TIME, actor, now,
            N_("cannot %(action)s an attempt that is %(status)s"),
            {"action": "add time to", "status": attempt.status},
        )
    _control_clock(attempt, Action.ADD_TIME, actor, now,
                   reason or f"{seconds} seconds added", seconds=seconds)
    return attempt


# Creation ---------------------------------------------------------------------------------


def new_attempt_code() -> str:
    return str(uuid.uuid4()).upper()


def create_attempt(
    exam: Exam,
    user: User,
    actor: Actor,
    now: datetime,
    *,
    taking_as_proctored: bool | None = None,
    start_clock: bool = False,
    resume_from: Attempt | None = None,
) -> Attempt:
    """Create the learner's attempt on ``exam``.

    ``taking_as_proctored=False`` on a proctored exam is the learner declining proctoring.
    ``start_clock`` starts a timed exam at once. Proctored attempts are registered with the
    provider before this returns; if the provider refuses because onboarding is missing,
    the attempt is kept in that onboarding status so the learner's page can explain it.
    """
    if actor.kind is ActorKind.LEARNER and actor.user_id != user.id:
        raise PermissionDenied(_("You can only create exam attempts for yourself."))
    if not user.is_active:
        raise PermissionDenied(_("This account is inactive; it cannot take exams."))
    if not courses.is_enrolled(user, exam.course_id):
        raise PermissionDenied(_(
            "%(username)s is not enrolled in %(course_id)s, so cannot take its exams.",
            username=user.username, course_id=exam.course_id,
        ))
    if not exam.is_active:
        raise InvalidTransition(_("The exam '%(name)s' is not active.", name=exam.exam_name))
    existing = current_attempt(exam, user)
    # A second attempt only ever comes from resuming an errored one or retrying practice.
    if existing is not None and resume_from is None and existing.status != S.ONBOARDING_RESET:
        raise AttemptAlreadyExists(
            _("%(username)s already has an attempt (%(status)s) on this exam.",
              username=user.username, status=existing.status),
            attempt_id=existing.id,
        )

    proctored = exam.is_proctored or exam.is_practice_exam
    declining = proctored and taking_as_proctored is False
    if declining and (exam.is_practice_exam or not exams.allows_opt_out(exam)):
        raise InvalidTransition(
            _("This exam must be taken with proctoring; it cannot be declined."))
    as_proctored = proctored and not declining
    if start_clock and as_proctored:
        raise InvalidTransition(
            _("A proctored exam starts once the proctoring software is ready."))

    policy = db.session.execute(
        select(ReviewPolicy).where(ReviewPolicy.exam_id == exam.id)
    ).scalar_one_or_none()
    attempt = Attempt(
        user=user,
        exam=exam,
        attempt_code=new_attempt_code(),
        status=S.CREATED.value,
        taking_as_proctored=as_proctored,
        is_sample_attempt=exam.is_practice_exam,
        review_policy_id=policy.id if policy else None,
        time_remaining_seconds=resume_from.time_remaining_seconds if resume_from else None,
        created=now,
        modified=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        raise AttemptAlreadyExists(
            _("%(username)s already has an attempt on this exam.", username=user.username)
        ) from None
    if existing is None:
        _count_learner(exam, +1)
    _record(attempt, Action.CREATE, None, S.CREATED.value, actor, now,
            f"resumes attempt {resume_from.id}" if resume_from else "")

    if declining:
        _change(attempt, Action.DECLINE, S.CREATED, S.DECLINED, actor, now, "declined proctoring")
        _cascade_decline(attempt, actor, now)
        return attempt

    if as_proctored:
        _register_with_provider(attempt, policy, actor, now)
        if attempt.status != S.CREATED:
            return attempt

    if start_clock:
        apply_action(attempt, Action.START, actor, now)
    return attempt


def _register_with_provider(
    attempt: Attempt, policy: ReviewPolicy | None, actor: Actor, now: datetime
) -> None:
    exam = attempt.exam
    backend = exams.backend_for(exam)
    if backend is None:
        return
    user = attempt.user
    config = current_app.config
    site = config["SITE_URL"].rstrip("/")
    try:
        # An exam its provider has not heard of yet (its push failed at save) goes first,
        # so the registration below carries the provider's id for it.
        provider_sync.ensure_exam_pushed(exam, now)
        attempt.external_id = backend.register_exam_attempt(AttemptRegistration(
            attempt_code=attempt.attempt_code,
            exam=exams.exam_data(exam),
            user_id=user.id,
            obscured_user_id=obscured_user_id(user.id, backend.name),
            full_name=user.full_name,
            email=user.email,
            allowed_time_limit_mins=compute_allowed_minutes(attempt, now),
            is_sample_attempt=attempt.is_sample_attempt,
            review_policy=policy.review_policy if policy else config["DEFAULT_REVIEW_POLICY"],
            review_policy_exception=allowances.review_policy_exception(user.id, exam.id),
            lms_host=site,
            launch_url=f"{site}/api/edx_proctoring/proctoring_launch_callback/start_exam/"
            f"{attempt.attempt_code}",
        ))
    except OnboardingRequired as refusal:
        attempt.external_id = refusal.external_id
        target = S(refusal.onboarding_status)
        _change(attempt, Action.CREATE, S.CREATED, target, actor, now,
                f"provider refused: {refusal.message}")
        return
    except BackendError as failure:
        log.warning("attempt %s not registered with %s: %s", attempt.attempt_code,
                    backend.name, failure.message)
        raise RegistrationFailed(
            _("The proctoring service (%(provider)s) could not set up your exam session just "
              "now. Nothing was saved: please try again in a few minutes.",
              provider=backend.display_name),
            retry=True,
        ) from failure
    db.session.flush()


def _cascade_decline(declined: Attempt, actor: Actor, now: datetime) -> None:
    """Declining one proctored exam declines the course's other proctored exams.

    Only exams the learner has not started are touched: unlike edx-proctoring we never
    pull an exam in progress out from under a learner.
    """
    others = db.session.execute(
        select(Exam).where(
            Exam.course_id == declined.exam.course_id,
            Exam.id != declined.exam_id,
            Exam.is_active.is_(True),
            Exam.is_proctored.is_(True),
            Exam.is_practice_exam.is_(False),
        ).order_by(Exam.id)
    ).scalars()
    cascade_actor = Actor(ActorKind.SYSTEM, actor.user, "decline cascade")
    for exam in others:
        existing = current_attempt(exam, declined.user)
        if existing is None:
            attempt = Attempt(
                user=declined.user,
                exam=exam,
                attempt_code=new_attempt_code(),
                status=S.CREATED.value,
                taking_as_proctored=False,
                is_sample_attempt=False,
                created=now,
                modified=now,
            )
            db.session.add(attempt)
            db.session.flush()
            _count_learner(exam, +1)
            _record(attempt, Action.CREATE, None, S.CREATED.value, cascade_actor, now,
                    f"declined with attempt {declined.id}")
            _change(attempt, Action.DECLINE, S.CREATED, S.DECLINED, cascade_actor, now,
                    f"declined with attempt {declined.id}")
        elif existing.status in PRE_STARTED:
            apply_action(existing, Action.DECLINE, cascade_actor, now,
                         f"declined with attempt {declined.id}")


def _clear_onboarding_errors(user_id: int, actor: Actor, now: datetime) -> None:
    """A finished onboarding attempt lifts the 'onboarding missing' blocks on other exams."""
    blocked = db.session.execute(
        select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.status.in_([s.value for s in ONBOARDING_ERRORS]),
        )
    ).scalars().all()
    for attempt in blocked:
        _remove(attempt, Actor(ActorKind.SYSTEM, actor.user, "onboarding completed"), now,
                "onboarding attempt completed")


# Flag-only and sibling-creating actions ---------------------------------------------------


def _resume(attempt: Attempt, actor: Actor, now: datetime, reason: str) -> Attempt:
    attempt.resumed = True
    attempt.ready_to_resume = False
    _record(attempt, Action.RESUME, attempt.status, attempt.status, actor, now,
            reason or "resumed in a new attempt")
    db.session.flush()
    return create_attempt(
        attempt.exam, attempt.user, actor, now,
        taking_as_proctored=attempt.taking_as_proctored if attempt.exam.is_proctored else None,
        resume_from=attempt,
    )


def _reset_practice(attempt: Attempt, actor: Actor, now: datetime, reason: str) -> Attempt:
    current = S(attempt.status)
    _change(attempt, Action.RESET_PRACTICE, current, S.ONBOARDING_RESET, actor, now, reason)
    return create_attempt(attempt.exam, attempt.user, actor, now, taking_as_proctored=True)


def _remove(attempt: Attempt, actor: Actor, now: datetime, reason: str,
            provider_confirmed: bool = False) -> None:
    _record(attempt, Action.REMOVE, attempt.status, None, actor, now, reason)
    events.attempt_removed(attempt, actor, now, provider_confirmed=provider_confirmed)
    exam, user_id = attempt.exam, attempt.user_id
    db.session.delete(attempt)
    db.session.flush()
    others = db.session.execute(
        select(Attempt.id).where(Attempt.exam_id == exam.id, Attempt.user_id == user_id)
        .limit(1)
    ).first()
    if others is None:
        _count_learner(exam, -1)


def _count_learner(exam: Exam, delta: int) -> None:
    """Keep ``exam.learners_with_attempts`` in step, in SQL so concurrent changes add up."""
    db.session.execute(
        update(Exam)
        .where(Exam.id == exam.id)
        .values(learners_with_attempts=Exam.learners_with_attempts + delta)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(exam, ["learners_with_attempts"])


def recount_learners(exam_ids: Iterable[int] | None = None) -> None:
    """Recompute the learner counts from the attempts (after bulk loads or imports)."""
    distinct_learners = (
        select(func.count(func.distinct(Attempt.user_id)))
        .where(Attempt.exam_id == Exam.id)
        .scalar_subquery()
    )
    statement = update(Exam).values(learners_with_attempts=distinct_learners)
    if exam_ids is not None:
        statement = statement.where(Exam.id.in_(list(exam_ids)))
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.expire_all()


def remove_attempt(
    attempt: Attempt, actor: Actor, now: datetime, reason: str = "", *,
    provider_confirmed: bool = False,
) -> None:
    """Delete an attempt (staff reset). History keeps it findable by its code.

    ``provider_confirmed``: the provider already confirmed deleting its record
    (``services.removal``), so the outbox notes the removal as delivered, not to be sent.
    """
    if not provider_confirmed:
        apply_action(attempt, Action.REMOVE, actor, now, reason)
        return
    # The same checks as apply_action (REMOVE accepts any stored status and has no guard).
    _check_actor(attempt, TRANSITIONS[Action.REMOVE], Action.REMOVE, actor)
    _remove(_lock(attempt), actor, now, reason, provider_confirmed=True)


# Administrative status changes ------------------------------------------------------------


def set_attempt_status(
    attempt: Attempt, status: str, actor: Actor, now: datetime, reason: str = ""
) -> Attempt:
    """Operator override (CLI, admin). Follows the reference's legality rule, not the table.

    A completed attempt never becomes incomplete again; an attempt in progress sent back to
    a pre-start status is submitted instead, so nobody gets a second go by accident.
    """
    try:
        target = S(status)
    except ValueError:
        raise InvalidTransition(_(
            "Unknown status %(status)s. Known statuses: %(known)s",
            status=repr(status),
            known=", ".join(s.value for s in S if s not in VIRTUAL_STATUSES),
        )) from None
    if target in VIRTUAL_STATUSES:
        raise InvalidTransition(_("'%(status)s' is computed from dates and cannot be set.",
                                  status=target.value))
    attempt = _lock(attempt)
    current = S(attempt.status)
    if current in COMPLETED and target in INCOMPLETE:
        raise InvalidTransition(_(
            "Attempt %(id)s is %(status)s, which is final; it cannot go back to %(target)s.",
            id=attempt.id, status=current.value, target=target.value,
        ))
    if current in IN_PROGRESS and target in PRE_STARTED:
        target = S.SUBMITTED
    if target is S.TIMED_OUT and not current_app.config["ALLOW_TIMED_OUT_STATE"]:
        target = S.SUBMITTED
    if target == current:
        raise InvalidTransition(_("Attempt %(id)s is already %(status)s.", id=attempt.id,
                                  status=current.value))
    _change(attempt, Action.SET_STATUS, current, target, actor, now, reason)
    return attempt


# Expiry -----------------------------------------------------------------------------------


def expire_if_due(attempt: Attempt, now: datetime) -> bool:
    """Submit an attempt whose time has run out. Called on every read of an attempt."""
    if not timing.has_run_out(attempt, now):
        return False
    apply_action(attempt, Action.EXPIRE, Actor.system("timer"), now, "time ran out")
    return True


def sweep_expired(now: datetime, batch_size: int = 200) -> list[int]:
    """Submit every attempt in progress whose time is over, read or not."""
    expired: list[int] = []
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Attempt)
            .where(
                Attempt.status.in_([s.value for s in IN_PROGRESS]),
                Attempt.id > last_id,
            )
            .order_by(Attempt.id)
            .limit(batch_size)
        ).scalars().all()
        if not batch:
            return expired
        for attempt in batch:
            last_id = attempt.id
            if expire_if_due(attempt, now):
                expired.append(attempt.id)


def statuses(values: Iterable[str]) -> list[AttemptStatus]:
    return [S(v) for v in values]
