"""Read models of the instructor dashboard, and the few writes only the dashboard makes.

Every page reads a fixed number of queries whatever the size of the course: counts are
grouped in SQL, lists are filtered, sorted and paginated in SQL, and the rows a page shows
are fetched with what they need in one go. Writes delegate to the owning services
(``attempts``, ``exams``, ``allowances``) so every change keeps its history.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, exists, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased, contains_eager, joinedload

from proctor_web.backends.base import ProctoringBackend
from proctor_web.errors import BadRequest, NotFound
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceHistory,
    Attempt,
    AttemptHistory,
    AttemptIncident,
    AttemptStatus,
    Course,
    CourseMembership,
    CourseRole,
    Exam,
    ExamType,
    Review,
    User,
)
from proctor_web.models.attempt import (
    IN_PROGRESS,
    INCOMPLETE,
    PRE_STARTED,
    REVIEWABLE,
    STORED_STATUSES,
)
from proctor_web.services import attempts as attempt_service
from proctor_web.services import courses, exams, onboarding_profiles, timing
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.obscured_ids import obscured_user_id
from proctor_web.services.onboarding import OnboardingStatus, onboarding_exams
from proctor_web.services.validation import parse_bool, require_text

S = AttemptStatus
PAGE_SIZE = 25
STUCK_LIMIT = 50


# Access -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseAccess:
    course: Course
    can_manage: bool


def course_access(user: User, course_id: str) -> CourseAccess:
    """The course and whether ``user`` may manage it, in one query (404 if no such course)."""
    row = db.session.execute(
        select(Course, CourseMembership.role, CourseMembership.is_active)
        .outerjoin(
            CourseMembership,
            and_(
                CourseMembership.course_id == Course.course_id,
                CourseMembership.user_id == user.id,
            ),
        )
        .where(Course.course_id == course_id)
    ).first()
    if row is None:
        raise NotFound(_("No course %(course_id)s.", course_id=repr(course_id)))
    course, role, active = row
    can = bool(user.is_staff or (role == CourseRole.STAFF.value and active))
    return CourseAccess(course, can)


def is_member(user: User, course_id: str) -> bool:
    return user.is_staff or courses.is_enrolled(user, course_id)


# Exams ------------------------------------------------------------------------------------


def course_exam_list(course_id: str) -> list[Exam]:
    """Every exam of the course, active first, in course order."""
    return list(
        db.session.execute(
            select(Exam)
            .where(Exam.course_id == course_id)
            .options(joinedload(Exam.review_policy))
            .order_by(Exam.is_active.desc(), Exam.id)
        ).unique().scalars()
    )


# Overview ---------------------------------------------------------------------------------


@dataclass
class ExamSummary:
    exam: Exam
    type: ExamType
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class StuckAttempt:
    attempt: Attempt
    why: str  # "error" | "not_moving" | "past_end"


@dataclass
class Overview:
    exams: list[ExamSummary]
    statuses: list[str]
    stuck: list[StuckAttempt]
    more_stuck: bool


def status_counts(course_id: str) -> dict[int, dict[str, int]]:
    """Attempts per exam and status, in one grouped query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        select(Attempt.exam_id, Attempt.status, func.count())
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(Exam.course_id == course_id)
        .group_by(Attempt.exam_id, Attempt.status)
    )
    for exam_id, status, count in rows:
        counts[exam_id][status] = count
    return counts


def stuck_attempts(exam_list: Sequence[Exam], now: datetime,
                   limit: int = STUCK_LIMIT) -> tuple[list[StuckAttempt], bool]:
    """Attempts in error (not yet resumed), or not moving for longer than the exam lasts.

    The SQL narrows to candidates per exam (untouched for longer than the time limit);
    attempts in progress are then checked against their own end, which counts extra time.
    """
    if not exam_list:
        return [], False
    idle = [
        and_(Attempt.exam_id == exam.id,
             Attempt.modified < now - timedelta(minutes=exam.time_limit_mins))
        for exam in exam_list
    ]
    candidates = db.session.execute(
        select(Attempt)
        .where(
            Attempt.exam_id.in_([e.id for e in exam_list]),
            or_(
                and_(Attempt.status == S.ERROR.value, Attempt.resumed.is_(False)),
                and_(Attempt.status.in_([s.value for s in INCOMPLETE]), or_(*idle)),
            ),
        )
        .order_by(Attempt.modified, Attempt.id)
        .limit(limit * 4)
    ).scalars().all()
    found: list[StuckAttempt] = []
    for attempt in candidates:
        if attempt.status == S.ERROR.value:
            found.append(StuckAttempt(attempt, "error"))
        elif attempt.status in IN_PROGRESS:
            end = timing.ends_at(attempt)
            if end is None or end <= now:
                found.append(StuckAttempt(attempt, "past_end"))
        else:
            found.append(StuckAttempt(attempt, "not_moving"))
    return found[:limit], len(found) > limit or len(candidates) == limit * 4


def overview(course_id: str, now: datetime) -> Overview:
    exam_list = course_exam_list(course_id)
    counts = status_counts(course_id)
    summaries = [ExamSummary(e, exams.exam_type(e), counts.get(e.id, {})) for e in exam_list]
    present = {status for c in counts.values() for status in c}
    statuses = [s.value for s in STORED_STATUSES if s.value in present]
    stuck, more = stuck_attempts(exam_list, now)
    return Overview(summaries, statuses, stuck, more)


# Attempt listing --------------------------------------------------------------------------

SORTS: dict[str, Any] = {
    "newest": (Attempt.id.desc(),),
    "oldest": (Attempt.id.asc(),),
    "username": (User.username.asc(), Attempt.id.desc()),
    "-username": (User.username.desc(), Attempt.id.desc()),
    "exam": (Exam.exam_name.asc(), Attempt.id.desc()),
    "status": (Attempt.status.asc(), Attempt.id.desc()),
    "started": (Attempt.started_at.desc(), Attempt.id.desc()),
    "completed": (Attempt.completed_at.desc(), Attempt.id.desc()),
    "modified": (Attempt.modified.desc(), Attempt.id.desc()),
}
EXAM_TYPES = tuple(t.value for t in ExamType)


@dataclass(frozen=True)
class AttemptFilters:
    search: str = ""
    exam_id: int | None = None
    status: str = ""
    exam_type: str = ""
    sort: str = "newest"
    page: int = 1

    def as_query(self, **changes: Any) -> dict[str, Any]:
        values = {
            "q": self.search, "exam": self.exam_id or "", "status": self.status,
            "type": self.exam_type, "sort": self.sort, "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1, "newest")}


def parse_page(value: Any) -> int:
    if value in (None, ""):
        return 1
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1 or int(text) > 1_000_000:
        raise BadRequest(_("%(field)s: expected a page number from 1, got %(value)s.",
                           field="page", value=repr(value)), field="page")
    return int(text)


def parse_attempt_filters(args: Mapping[str, Any]) -> AttemptFilters:
    """Query-string filters of the attempts page (and the grouped-attempts endpoint)."""
    search = str(args.get("q") or "").strip()
    if len(search) > 254:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="q",
                           maximum=254), field="q")
    exam_id = None
    if args.get("exam") not in (None, ""):
        text = str(args["exam"]).strip()
        if not text.isdigit():
            raise BadRequest(_("%(field)s: expected an exam id, got %(value)s.", field="exam",
                               value=repr(args["exam"])), field="exam")
        exam_id = int(text)
    status = str(args.get("status") or "").strip()
    if status and status not in {s.value for s in STORED_STATUSES}:
        raise BadRequest(_("%(field)s: unknown status %(value)s.", field="status",
                           value=repr(status)), field="status")
    kind = str(args.get("type") or "").strip()
    if kind and kind not in EXAM_TYPES:
        raise BadRequest(
            _("%(field)s: expected one of %(choices)s, got %(value)s.", field="type",
              choices=", ".join(EXAM_TYPES), value=repr(kind)),
            field="type",
        )
    sort = str(args.get("sort") or "newest").strip()
    if sort not in SORTS:
        raise BadRequest(_("%(field)s: expected one of %(choices)s, got %(value)s.",
                           field="sort", choices=", ".join(SORTS), value=repr(sort)),
                         field="sort")
    return AttemptFilters(search, exam_id, status, kind, sort, parse_page(args.get("page")))


@dataclass
class AttemptRow:
    attempt: Attempt
    type: ExamType
    earlier: list[Attempt] = field(default_factory=list)


@dataclass
class AttemptPage:
    rows: list[AttemptRow]
    total: int
    page: int
    page_size: int
    exams: list[Exam]
    filters: AttemptFilters

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _latest_attempts(exam_ids: Sequence[int]) -> Select:
    """Attempts of these exams that no newer attempt of the same learner and exam follows."""
    newer = aliased(Attempt)
    return (
        select(Attempt)
        .join(User, Attempt.user_id == User.id)
        .join(Exam, Attempt.exam_id == Exam.id)
        # Load the learner and exam from these joins rather than joining them twice: the
        # duplicate joins cost PostgreSQL more planning time than the query takes to run.
        .options(contains_eager(Attempt.user), contains_eager(Attempt.exam))
        .where(
            Attempt.exam_id.in_(exam_ids),
            ~exists().where(
                newer.exam_id == Attempt.exam_id,
                newer.user_id == Attempt.user_id,
                newer.id > Attempt.id,
            ),
        )
    )


def list_attempts(course_id: str, filters: AttemptFilters,
                  page_size: int = PAGE_SIZE) -> AttemptPage:
    """The latest attempt per learner and exam, filtered, sorted and paginated in SQL.

    At most four queries whatever the course size: the course's exams, the page, the total
    (only when filtered: the exams carry the unfiltered one), and the earlier attempts of
    the learners and exams on the page (none when the page is empty).
    """
    exam_list = course_exam_list(course_id)
    types = {e.id: exams.exam_type(e) for e in exam_list}
    exam_ids = [e.id for e in exam_list]
    if filters.exam_id is not None:
        exam_ids = [i for i in exam_ids if i == filters.exam_id]
    if filters.exam_type:
        exam_ids = [i for i in exam_ids if types[i].value == filters.exam_type]
    if not exam_ids:
        return AttemptPage([], 0, filters.page, page_size, exam_list, filters)

    query = _latest_attempts(exam_ids)
    if filters.search:
        query = query.where(courses.search_users(filters.search))
    if filters.status:
        query = query.where(Attempt.status == filters.status)
    page_query = (
        query.order_by(*SORTS[filters.sort])
        .limit(page_size)
        .offset((filters.page - 1) * page_size)
    )
    result = db.session.execute(page_query).unique().scalars().all()
    if filters.search or filters.status:
        total = db.session.execute(
            select(func.count()).select_from(query.with_only_columns(Attempt.id).subquery())
        ).scalar_one()
    else:
        # Unfiltered, the latest attempts are one per learner and exam: the exams keep that
        # number, so a page of a large course does not count its attempts.
        wanted = set(exam_ids)
        total = sum(e.learners_with_attempts for e in exam_list if e.id in wanted)
    rows = [AttemptRow(attempt, types[attempt.exam_id]) for attempt in result]
    _attach_earlier(rows)
    return AttemptPage(rows, total, filters.page, page_size, exam_list, filters)


def _attach_earlier(rows: list[AttemptRow]) -> None:
    if not rows:
        return
    pairs = {(row.attempt.exam_id, row.attempt.user_id) for row in rows}
    latest_ids = {row.attempt.id for row in rows}
    earlier = db.session.execute(
        select(Attempt)
        .where(tuple_(Attempt.exam_id, Attempt.user_id).in_(sorted(pairs)))
        .where(Attempt.id.not_in(latest_ids))
        .order_by(Attempt.id.desc())
    ).scalars().all()
    by_pair: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for attempt in earlier:
        by_pair[(attempt.exam_id, attempt.user_id)].append(attempt)
    for row in rows:
        row.earlier = by_pair.get((row.attempt.exam_id, row.attempt.user_id), [])


# Attempt detail ---------------------------------------------------------------------------


@dataclass
class AttemptDetail:
    attempt: Attempt | None
    user: User
    exam: Exam
    type: ExamType
    #: Every history row of this learner on this exam, oldest first (all their attempts).
    history: list[AttemptHistory]
    allowances: list[Allowance]
    review: Review | None
    video_url: str | None
    attempt_id: int
    attempt_code: str
    #: What a proctoring tool reported about this attempt (LTI ACS), oldest first.
    incidents: list[AttemptIncident] = field(default_factory=list)

    @property
    def this_history(self) -> list[AttemptHistory]:
        return [row for row in self.history if row.attempt_id == self.attempt_id]

    @property
    def other_attempts(self) -> list[tuple[int, str, str | None]]:
        """(attempt id, code, last known status) of the learner's other attempts on the exam."""
        seen: dict[int, tuple[int, str, str | None]] = {}
        for row in self.history:
            if row.attempt_id != self.attempt_id:
                status = row.to_status if row.to_status is not None else "removed"
                seen[row.attempt_id] = (row.attempt_id, row.attempt_code, status)
        return sorted(seen.values(), reverse=True)

    @property
    def archived(self) -> bool:
        return self.attempt is None

    def used_seconds(self, now: datetime) -> int | None:
        attempt = self.attempt
        if attempt is None or attempt.started_at is None:
            return None
        end = attempt.completed_at or now
        limit_end = timing.ends_at(attempt)
        if limit_end is not None and end > limit_end:
            end = limit_end
        return max(0, int((end - attempt.started_at).total_seconds()))

    def actions(self) -> list[str]:
        """Staff actions that apply to the attempt as it is now."""
        attempt = self.attempt
        if attempt is None:
            return []
        available = ["reset"]
        status = S(attempt.status)
        if (status is S.ERROR and attempt.is_resumable and not attempt.ready_to_resume
                and not attempt.is_sample_attempt):
            available.append("resume")
        if status in REVIEWABLE and status is not S.VERIFIED:
            available.append("verify")
        if status in REVIEWABLE and status is not S.REJECTED:
            available.append("reject")
        return available


def video_url_of(review: Review | None, exam: Exam) -> str | None:
    """The provider's video link, decrypted by the exam's backend when it stores it so."""
    if review is None or not review.encrypted_video_url:
        return None
    token = review.encrypted_video_url
    try:
        text = token.decode("utf-8") if isinstance(token, bytes) else str(token)
    except UnicodeDecodeError:
        text = ""
    if text.startswith(("https://", "http://")):
        return text
    backend = exams.backend_for(exam)
    decrypt = getattr(backend, "decrypt_video_url", None)
    if decrypt is None:
        return None
    try:
        url = decrypt(token)
    except (ValueError, TypeError, KeyError):
        return None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def attempt_detail(course_id: str, attempt_id: int) -> AttemptDetail:
    """One attempt with its learner's whole history on the exam, allowances and review.

    A reset attempt no longer has a row; its history still shows it (read-only).
    """
    attempt = db.session.execute(
        select(Attempt).where(Attempt.id == attempt_id)
    ).unique().scalar_one_or_none()
    if attempt is not None:
        if attempt.exam.course_id != course_id:
            raise NotFound(_("Attempt %(id)s is not in this course.", id=attempt_id))
        user, exam = attempt.user, attempt.exam
        code = attempt.attempt_code
    else:
        archived = db.session.execute(
            select(AttemptHistory, User, Exam)
            .join(User, User.id == AttemptHistory.user_id)
            .join(Exam, Exam.id == AttemptHistory.exam_id)
            .where(AttemptHistory.attempt_id == attempt_id, Exam.course_id == course_id)
            .order_by(AttemptHistory.id.desc())
            .limit(1)
        ).first()
        if archived is None:
            raise NotFound(_("Attempt %(id)s does not exist in this course.", id=attempt_id))
        last, user, exam = archived
        code = last.attempt_code
    history = list(
        db.session.execute(
            select(AttemptHistory)
            .where(AttemptHistory.user_id == user.id, AttemptHistory.exam_id == exam.id)
            .options(joinedload(AttemptHistory.actor))
            .order_by(AttemptHistory.created_at, AttemptHistory.id)
        ).scalars()
    )
    allowance_rows = list(
        db.session.execute(
            select(Allowance)
            .where(Allowance.user_id == user.id, Allowance.exam_id == exam.id)
            .order_by(Allowance.key)
        ).unique().scalars()
    )
    review = db.session.execute(
        select(Review).where(Review.attempt_code == code).options(joinedload(Review.comments))
    ).unique().scalar_one_or_none() if attempt is not None else None
    # Every ACS control leaves a history row saying so: no such row, no incident to fetch.
    controlled = any(row.attempt_id == attempt_id and row.reason.startswith("ACS ")
                     for row in history)
    incidents = list(db.session.execute(
        select(AttemptIncident).where(AttemptIncident.attempt_code == code)
        .order_by(AttemptIncident.id)
    ).scalars()) if controlled else []
    return AttemptDetail(
        attempt, user, exam, exams.exam_type(exam), history, allowance_rows, review,
        video_url_of(review, exam), attempt_id, code, incidents,
    )


# Staff actions on attempts ----------------------------------------------------------------

STAFF_ACTIONS = ("reset", "resume", "verify", "reject")
#: Actions whose reason is required (they change a learner's result or remove their work).
REASON_REQUIRED = frozenset({"reset", "verify", "reject"})


def clean_reason(action: str, reason: Any) -> str:
    text = str(reason or "").strip()
    if len(text) > 2000:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="reason",
                           maximum=2000), field="reason")
    if action in REASON_REQUIRED and not text:
        raise BadRequest(_("%(field)s: say why; it is kept in the attempt's history.",
                           field="reason"),
                         field="reason")
    return text


def staff_action(attempt: Attempt, action: str, staff: User, reason: Any, now: datetime,
                 *, provider_confirmed: frozenset[int] = frozenset()) -> None:
    """Reset, resume, verify or reject one attempt on behalf of course staff.

    ``provider_confirmed``: ids of attempts whose provider already confirmed deleting its
    record (``services.removal``; the view asks before a reset).
    """
    if action not in STAFF_ACTIONS:
        raise BadRequest(_("%(field)s: expected one of %(choices)s, got %(value)s.",
                           field="action", choices=", ".join(STAFF_ACTIONS),
                           value=repr(action)))
    text = clean_reason(action, reason)
    actor = Actor.staff(staff)
    if action == "reset":
        attempt_service.remove_attempt(attempt, actor, now, text or "reset by course staff",
                                       provider_confirmed=attempt.id in provider_confirmed)
    elif action == "resume":
        attempt_service.apply_action(attempt, Action.MARK_READY_TO_RESUME, actor, now, text)
    elif action == "verify":
        attempt_service.apply_action(attempt, Action.VERIFY, actor, now, text)
    else:
        attempt_service.apply_action(attempt, Action.REJECT, actor, now, text)


def attempts_to_reset(exam: Exam, user: User) -> list[Attempt]:
    """Every attempt of ``user`` on ``exam`` (edx's reset_attempts); 404 if none."""
    rows = attempt_service.attempts_for(exam, user)
    if not rows:
        raise NotFound(_("%(username)s has no attempt on exam %(id)s.",
                         username=user.username, id=exam.id))
    return rows


def reset_attempts(exam: Exam, user: User, staff: User, now: datetime, reason: str = "", *,
                   provider_confirmed: frozenset[int] = frozenset()) -> int:
    """Remove every attempt of ``user`` on ``exam`` (edx's reset_attempts); 404 if none."""
    rows = attempts_to_reset(exam, user)
    for attempt in rows:
        attempt_service.remove_attempt(attempt, Actor.staff(staff), now,
                                       reason or "attempts reset by course staff",
                                       provider_confirmed=attempt.id in provider_confirmed)
    return len(rows)


def course_attempt(course_id: str, attempt_id: int) -> Attempt:
    attempt = db.session.execute(
        select(Attempt).where(Attempt.id == attempt_id)
    ).unique().scalar_one_or_none()
    if attempt is None or attempt.exam.course_id != course_id:
        raise NotFound(_("Attempt %(id)s does not exist in this course.", id=attempt_id))
    return attempt


# Allowances -------------------------------------------------------------------------------


@dataclass
class LearnerAllowances:
    user: User
    allowances: list[Allowance]


def grouped_allowances(course_id: str) -> list[LearnerAllowances]:
    rows = db.session.execute(
        select(Allowance)
        .join(Exam, Allowance.exam_id == Exam.id)
        .join(User, Allowance.user_id == User.id)
        .where(Exam.course_id == course_id)
        .order_by(User.username, Exam.id, Allowance.key)
    ).unique().scalars()
    groups: dict[int, LearnerAllowances] = {}
    for allowance in rows:
        group = groups.setdefault(allowance.user_id, LearnerAllowances(allowance.user, []))
        group.allowances.append(allowance)
    return list(groups.values())


@dataclass(frozen=True)
class AllowanceChange:
    row: AllowanceHistory
    username: str
    exam_name: str
    actor: str | None


def allowance_history(course_id: str, limit: int = 50) -> list[AllowanceChange]:
    actor = aliased(User)
    rows = db.session.execute(
        select(AllowanceHistory, User.username, Exam.exam_name, actor.username)
        .join(Exam, Exam.id == AllowanceHistory.exam_id)
        .join(User, User.id == AllowanceHistory.user_id)
        .outerjoin(actor, actor.id == AllowanceHistory.actor_id)
        .where(Exam.course_id == course_id)
        .order_by(AllowanceHistory.id.desc())
        .limit(limit)
    ).all()
    return [AllowanceChange(*row) for row in rows]


def find_allowance(course_id: str, allowance_id: int) -> Allowance:
    allowance = db.session.execute(
        select(Allowance).where(Allowance.id == allowance_id)
    ).unique().scalar_one_or_none()
    if allowance is None or allowance.exam.course_id != course_id:
        raise NotFound(_("Allowance %(id)s does not exist in this course.", id=allowance_id))
    return allowance


def enrolled_learners(course_id: str, limit: int = 500) -> list[User]:
    """Learners to offer in the allowance form (a datalist; any enrolled learner is valid)."""
    return list(
        db.session.execute(
            select(User)
            .join(CourseMembership, CourseMembership.user_id == User.id)
            .where(CourseMembership.course_id == course_id, CourseMembership.is_active.is_(True),
                   CourseMembership.role == CourseRole.LEARNER.value)
            .order_by(User.username)
            .limit(limit)
        ).scalars()
    )


# Onboarding -------------------------------------------------------------------------------

ONBOARDING_STATUSES = tuple(s.value for s in OnboardingStatus)


@dataclass(frozen=True)
class OnboardingFilters:
    search: str = ""
    statuses: tuple[str, ...] = ()
    page: int = 1

    def as_query(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"q": self.search, "status": list(self.statuses),
                                  "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1, [])}


def parse_onboarding_filters(search: Any, statuses: Sequence[str], page: Any) -> OnboardingFilters:
    text = str(search or "").strip()
    if len(text) > 254:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="text_search",
                           maximum=254), field="text_search")
    wanted: list[str] = []
    for value in statuses:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part not in ONBOARDING_STATUSES:
                raise BadRequest(
                    _("%(field)s: unknown onboarding status %(value)s; expected some of "
                      "%(choices)s.", field="statuses", value=repr(part),
                      choices=", ".join(ONBOARDING_STATUSES)),
                    field="statuses",
                )
            wanted.append(part)
    return OnboardingFilters(text, tuple(dict.fromkeys(wanted)), parse_page(page))


@dataclass(frozen=True)
class OnboardingRow:
    user_id: int
    username: str
    email: str
    enrollment_mode: str
    status: str
    modified: datetime | None


@dataclass
class OnboardingPage:
    rows: list[OnboardingRow]
    total: int
    page: int
    page_size: int
    filters: OnboardingFilters
    has_onboarding_exam: bool
    #: Statuses come from the provider (it keeps onboarding profiles), not our attempts.
    use_onboarding_profile_api: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def onboarding_status_query(course_id: str, exam_list: Sequence[Exam], now: datetime) -> Select:
    """One row per enrolled learner with their dashboard onboarding status, computed in SQL.

    Mirrors ``onboarding.instructor_status(learner_onboarding(...))``: a valid verified
    onboarding here wins, then one verified in another course on the same backend, else the
    latest attempt's status in the dashboard's words.
    """
    exam_ids = [e.id for e in exam_list]
    backend_name = exam_list[0].backend or ""
    cutoff = now - timedelta(days=current_app.config["ONBOARDING_VALID_DAYS"])
    here = and_(
        Attempt.user_id == User.id,
        Attempt.exam_id.in_(exam_ids),
        Attempt.taking_as_proctored.is_(True),
    )
    verified_here = exists().where(here, Attempt.status == S.VERIFIED.value,
                                   Attempt.modified > cutoff)
    other_exam = aliased(Exam)
    other = aliased(Attempt)
    verified_elsewhere = (
        exists()
        .where(
            other.user_id == User.id,
            other.exam_id == other_exam.id,
            other.status == S.VERIFIED.value,
            other.taking_as_proctored.is_(True),
            other_exam.is_proctored.is_(True),
            other_exam.is_practice_exam.is_(True),
            other_exam.backend == backend_name,
            other_exam.course_id != course_id,
            other.modified >= cutoff,
        )
    )
    latest = (
        select(Attempt.status).where(here)
        .order_by(Attempt.modified.desc(), Attempt.id.desc()).limit(1).scalar_subquery()
    )
    latest_modified = (
        select(func.max(Attempt.modified)).where(here).scalar_subquery()
    )
    OS = OnboardingStatus
    status = case(
        (verified_here, literal(OS.VERIFIED.value)),
        (verified_elsewhere, literal(OS.OTHER_COURSE_APPROVED.value)),
        (latest.is_(None), literal(OS.NOT_STARTED.value)),
        (latest == S.VERIFIED.value, literal(OS.EXPIRED.value)),
        (latest.in_([s.value for s in PRE_STARTED]), literal(OS.SETUP_STARTED.value)),
        (latest.in_([s.value for s in IN_PROGRESS]), literal(OS.ONBOARDING_STARTED.value)),
        (latest.in_([S.SUBMITTED.value, S.SECOND_REVIEW_REQUIRED.value]),
         literal(OS.SUBMITTED.value)),
        (latest == S.ONBOARDING_RESET.value, literal(OS.NOT_STARTED.value)),
        (latest == S.REJECTED.value, literal(OS.REJECTED.value)),
        else_=literal(OS.ERROR.value),
    )
    return (
        select(
            User.id.label("user_id"),
            User.username.label("username"),
            User.email.label("email"),
            CourseMembership.enrollment_mode.label("enrollment_mode"),
            status.label("status"),
            latest_modified.label("modified"),
        )
        .join(CourseMembership, CourseMembership.user_id == User.id)
        .where(
            CourseMembership.course_id == course_id,
            CourseMembership.is_active.is_(True),
            CourseMembership.role == CourseRole.LEARNER.value,
        )
    )


def onboarding_page(course_id: str, filters: OnboardingFilters, now: datetime,
                    page_size: int = PAGE_SIZE) -> OnboardingPage:
    exam_list = onboarding_exams(course_id)
    if not exam_list:
        return OnboardingPage([], 0, filters.page, page_size, filters, False)
    backend = onboarding_profiles.profile_backend(exam_list)
    if backend is not None:
        return _provider_onboarding_page(course_id, exam_list, backend, filters, now,
                                         page_size)
    inner = onboarding_status_query(course_id, exam_list, now)
    if filters.search:
        inner = inner.where(courses.search_users(filters.search))
    sub = inner.subquery()
    query = select(sub, func.count().over().label("total"))
    if filters.statuses:
        query = query.where(sub.c.status.in_(filters.statuses))
    query = query.order_by(sub.c.username).limit(page_size).offset((filters.page - 1) * page_size)
    result = db.session.execute(query).all()
    total = result[0].total if result else 0
    if not result and filters.page > 1:
        count_query = select(func.count()).select_from(sub)
        if filters.statuses:
            count_query = count_query.where(sub.c.status.in_(filters.statuses))
        total = db.session.execute(count_query).scalar_one()
    rows = [
        OnboardingRow(r.user_id, r.username, r.email, r.enrollment_mode, r.status, r.modified)
        for r in result
    ]
    return OnboardingPage(rows, total, filters.page, page_size, filters, True)


def _provider_onboarding_page(
    course_id: str, exam_list: Sequence[Exam], backend: ProctoringBackend,
    filters: OnboardingFilters, now: datetime, page_size: int,
) -> OnboardingPage:
    """The onboarding list when the provider keeps the statuses: every enrolled learner
    (search applied) with the provider's status for their obscured id, ``not_started`` for
    learners it does not know, and the last change of their attempts here. Raises
    ``ProviderOnboardingUnavailable`` (503) when the provider cannot be asked."""
    known = onboarding_profiles.course_statuses(
        backend, course_id, onboarding_profiles.provider_words_for(filters.statuses))
    learners = onboarding_status_query(course_id, exam_list, now)
    if filters.search:
        learners = learners.where(courses.search_users(filters.search))
    rows: list[OnboardingRow] = []
    for r in db.session.execute(learners.order_by(User.username)).all():
        status = known.get(obscured_user_id(r.user_id, backend.name),
                           OnboardingStatus.NOT_STARTED)
        if filters.statuses and status.value not in filters.statuses:
            continue
        rows.append(OnboardingRow(r.user_id, r.username, r.email, r.enrollment_mode,
                                  status.value, r.modified))
    start = (filters.page - 1) * page_size
    return OnboardingPage(rows[start:start + page_size], len(rows), filters.page, page_size,
                          filters, True, use_onboarding_profile_api=True)


# Exam settings ----------------------------------------------------------------------------

TYPE_FLAGS: dict[str, tuple[bool, bool]] = {
    "timed": (False, False),
    "proctored": (True, False),
    "practice": (False, True),
    "onboarding": (True, True),
}


def exam_form_fields(form: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Translate the exam settings form into ``services.exams`` fields (validated there)."""
    kind = str(form.get("exam_type") or "").strip()
    if kind not in TYPE_FLAGS:
        raise BadRequest(_("%(field)s: choose timed, proctored, practice or onboarding.",
                           field="exam_type"),
                         field="exam_type")
    is_proctored, is_practice = TYPE_FLAGS[kind]
    data: dict[str, Any] = {
        "exam_name": form.get("exam_name"),
        "time_limit_mins": form.get("time_limit_mins"),
        "due_date": form.get("due_date") or None,
        "is_proctored": is_proctored,
        "is_practice_exam": is_practice,
        "is_active": parse_bool(form.get("is_active", "false"), "is_active"),
        "hide_after_due": parse_bool(form.get("hide_after_due", "false"), "hide_after_due"),
        "content_url": form.get("content_url") or None,
    }
    if kind != "timed":
        data["backend"] = form.get("backend") or None
        if not data["backend"]:
            raise BadRequest(_("%(field)s: choose the proctoring provider of this exam.",
                               field="backend"),
                             field="backend")
    return data


def save_exam(course_id: str, exam: Exam | None, form: Mapping[str, Any], actor: User,
              now: datetime) -> Exam:
    """Create or update an exam from the settings form, with its review policy."""
    data = exam_form_fields(form, creating=exam is None)
    policy = str(form.get("review_policy") or "").strip()
    if len(policy) > 10000:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="review_policy",
                           maximum=10000), field="review_policy")
    if policy and not data["is_proctored"]:
        raise BadRequest(_("%(field)s: only proctored exams have a review policy.",
                           field="review_policy"),
                         field="review_policy")
    if exam is None:
        content_id = require_text(form.get("content_id"), "content_id", max_length=255)
        exam = exams.create_exam(course_id, content_id, data, actor, now)
    else:
        exams.update_exam(exam, data, actor, now)
    if data["is_proctored"] or exams.get_review_policy(exam) is not None:
        exams.set_review_policy(exam, policy, actor, now)
    return exam


def course_exam(course_id: str, exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.course_id != course_id:
        raise NotFound(_("Exam %(id)s does not exist in this course.", id=exam_id))
    return exam


def update_course_settings(course: Course, form: Mapping[str, Any], now: datetime) -> Course:
    email = str(form.get("proctoring_escalation_email") or "").strip()
    if email and not courses.EMAIL_PATTERN.match(email):
        raise BadRequest(_("%(field)s: %(value)s is not an email address.",
                           field="proctoring_escalation_email", value=repr(email)),
                         field="proctoring_escalation_email")
    if len(email) > 254:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.",
                           field="proctoring_escalation_email", maximum=254),
                         field="proctoring_escalation_email")
    course.proctoring_escalation_email = email or None
    course.allow_proctoring_opt_out = parse_bool(
        form.get("allow_proctoring_opt_out", "false"), "allow_proctoring_opt_out"
    )
    course.modified = now
    db.session.flush()
    return course
