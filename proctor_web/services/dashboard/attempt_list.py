"""Read model of the attempts page and the grouped-attempts endpoint: the latest attempt per
learner and exam, with their earlier attempts, filtered, sorted and paginated in SQL."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, select, union_all
from sqlalchemy.orm import aliased, contains_eager

from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, AttemptStatus, Exam, ExamType, User
from proctor_web.models.attempt import REVIEWABLE, STORED_STATUSES
from proctor_web.services import courses, exams
from proctor_web.services.dashboard.course_exams import course_exam_list
from proctor_web.services.dashboard.paging import PAGE_SIZE, parse_page


@dataclass(frozen=True)
class Sort:
    """An order of the list: by ``column`` (None: by the attempt id alone), then by the
    attempt id, which breaks ties."""

    column: Any | None
    descending: bool = False
    newest_first: bool = True

    def order_by(self, column: Any, attempt_id: Any) -> list[Any]:
        """The ORDER BY terms, with ``column`` and ``attempt_id`` standing for the columns
        (the page orders the candidates by their copies of them)."""
        by_id = attempt_id.desc() if self.newest_first else attempt_id.asc()
        if self.column is None:
            return [by_id]
        return [column.desc() if self.descending else column.asc(), by_id]


SORTS: dict[str, Sort] = {
    "newest": Sort(None),
    "oldest": Sort(None, newest_first=False),
    "username": Sort(User.username),
    "-username": Sort(User.username, descending=True),
    "exam": Sort(Exam.exam_name),
    "status": Sort(Attempt.status),
    "started": Sort(Attempt.started_at, descending=True),
    "completed": Sort(Attempt.completed_at, descending=True),
    "modified": Sort(Attempt.modified, descending=True),
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

    @property
    def reviewable(self) -> bool:
        """Finished: staff may verify or reject it (from the list, several at once)."""
        return AttemptStatus(self.attempt.status) in REVIEWABLE


@dataclass(frozen=True)
class RemovedAttempt:
    """An attempt reset (removed) since: what its last history row says."""

    attempt_id: int
    learner: str
    exam: Exam
    #: The status it had when it was removed.
    status: str | None
    removed_at: Any
    #: Who removed it (None: the system, or an account deleted since).
    removed_by: str | None
    actor_kind: str
    reason: str


@dataclass
class AttemptPage:
    rows: list[AttemptRow]
    total: int
    page: int
    page_size: int
    exams: list[Exam]
    filters: AttemptFilters
    #: Attempts removed lately, newest first (first page only, not filtered by status).
    removed: list[RemovedAttempt] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


#: The newer attempts of ``_not_superseded``, built once: aliasing the table is costly enough
#: (a proxy per column) to show in every request's time if done per query.
_NEWER = aliased(Attempt, name="newer")


def _not_superseded(exam_ids: Sequence[int] | None = None) -> Any:
    """No newer attempt of the same learner on the same exam follows this one.

    ``exam_ids`` repeats the exams for the newer attempts too: PostgreSQL does not carry an
    ``IN`` list across the join, and without it may hash every attempt of the table to count
    a few hundred of one course."""
    condition = exists().where(
        _NEWER.exam_id == Attempt.exam_id,
        _NEWER.user_id == Attempt.user_id,
        _NEWER.id > Attempt.id,
    )
    if exam_ids is not None:
        condition = condition.where(_NEWER.exam_id.in_(exam_ids))
    return ~condition


def _latest_attempts(exam_ids: Sequence[int], filters: AttemptFilters,
                     sort: Sort | None = None) -> Select:
    """One query over the course: the id (and the sort's key, as ``sort_key``) of the
    latest attempts of these exams that match the filters."""
    columns = [Attempt.id.label("id")]
    if sort is not None and sort.column is not None:
        columns.append(sort.column.label("sort_key"))
    query = select(*columns).where(Attempt.exam_id.in_(exam_ids), _not_superseded(exam_ids))
    return _filtered(_joined(query, sort, filters), filters)


def _joined(query: Select, sort: Sort | None, filters: AttemptFilters) -> Select:
    """``query`` joined to the learner or the exam when the sort or the search needs them."""
    column = sort.column if sort is not None else None
    if column is Exam.exam_name:
        query = query.join(Exam, Attempt.exam_id == Exam.id)
    if column is User.username or filters.search:
        query = query.join(User, Attempt.user_id == User.id)
    return query


def _filtered(query: Select, filters: AttemptFilters) -> Select:
    if filters.search:
        query = query.where(courses.search_users(filters.search))
    if filters.status:
        query = query.where(Attempt.status == filters.status)
    return query


def _exam_by_exam(exam_ids: Sequence[int], filters: AttemptFilters, sort: Sort,
                  keep: int) -> Any:
    """The first ``keep`` latest attempts of each exam, newest or oldest first (the exam sort
    is newest first within an exam), as one union: ``id`` and ``sort_key`` columns.

    One query over the whole course, ordered by id, would walk the table's primary key,
    newer courses' attempts included, until it found a page of this course's (PostgreSQL
    plans it so: it assumes a course's attempts are spread evenly over the table). Here each
    part walks its own exam's attempts on the ``(exam_id, id, user_id)`` index and stops.
    The exam is matched as a range (``BETWEEN e AND e``), not ``= e``, and ordered by first:
    with an equality PostgreSQL may still serve "ORDER BY id" from the primary key, filtering
    on the exam; ordered by exam and id, with no equality, only the exam's index serves it.
    """
    in_exam = [c.desc() if sort.newest_first else c.asc() for c in (Attempt.exam_id, Attempt.id)]
    columns = [Attempt.id.label("id")]
    if sort.column is not None:
        columns.append(sort.column.label("sort_key"))
    parts = []
    for exam_id in exam_ids:
        part = select(*columns).where(Attempt.exam_id.between(exam_id, exam_id),
                                      _not_superseded())
        part = _filtered(_joined(part, sort, filters), filters).order_by(*in_exam).limit(keep)
        # A subquery of its own in the union: SQLite allows no LIMIT on a union's member.
        parts.append(select(part.subquery()))
    return union_all(*parts).subquery("candidates")


def _page(exam_ids: Sequence[int], filters: AttemptFilters, page_size: int) -> Any:
    """The ids (and sort keys) of the page's attempts, in a subquery named ``page``."""
    sort = SORTS[filters.sort]
    if sort.column is None or sort.column is Exam.exam_name:  # one name per exam
        candidates = _exam_by_exam(exam_ids, filters, sort, filters.page * page_size)
        query = select(candidates).order_by(*_order_of(sort, candidates))
    else:
        # Sorted by a column of the attempt or the learner: the course's latest attempts
        # are sorted whatever the query's shape, so one query over the course.
        query = _latest_attempts(exam_ids, filters, sort).order_by(
            *sort.order_by(sort.column, Attempt.id))
    return query.limit(page_size).offset((filters.page - 1) * page_size).subquery("page")


def _order_of(sort: Sort, of: Any) -> list[Any]:
    """The sort's ORDER BY terms on the ``id`` and ``sort_key`` columns of a subquery."""
    return sort.order_by(of.c.sort_key if sort.column is not None else None, of.c.id)


def list_attempts(course_id: str, filters: AttemptFilters, page_size: int = PAGE_SIZE, *,
                  with_removed: bool = False) -> AttemptPage:
    """The latest attempt per learner and exam, filtered, sorted and paginated in SQL.

    At most five queries whatever the course size: the course's exams, the page, the total
    (only when filtered: the exams carry the unfiltered one), the earlier attempts of the
    learners and exams on the page (none when the page is empty), and ``with_removed``, on
    the first page unless filtered by status, the attempts removed lately.
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

    # The page's ids first, then their rows by primary key, ordered by the page's own
    # columns: no index of the attempts table serves that order, so PostgreSQL cannot fill
    # the page by walking (and merging with) the table in id order.
    page = _page(exam_ids, filters, page_size)
    page_query = (
        select(Attempt)
        .join(page, page.c.id == Attempt.id)
        .join(User, Attempt.user_id == User.id)
        .join(Exam, Attempt.exam_id == Exam.id)
        # Load the learner and exam from these joins rather than joining them twice: the
        # duplicate joins cost PostgreSQL more planning time than the query takes to run.
        .options(contains_eager(Attempt.user), contains_eager(Attempt.exam))
        .order_by(*_order_of(SORTS[filters.sort], page))
    )
    result = db.session.execute(page_query).unique().scalars().all()
    if filters.search or filters.status:
        total = db.session.execute(
            select(func.count()).select_from(_latest_attempts(exam_ids, filters).subquery())
        ).scalar_one()
    else:
        # Unfiltered, the latest attempts are one per learner and exam: the exams keep that
        # number, so a page of a large course does not count its attempts.
        wanted = set(exam_ids)
        total = sum(e.learners_with_attempts for e in exam_list if e.id in wanted)
    rows = [AttemptRow(attempt, types[attempt.exam_id]) for attempt in result]
    _attach_earlier(rows)
    removed = []
    if with_removed and filters.page == 1 and not filters.status:
        removed = removed_attempts({e.id: e for e in exam_list if e.id in set(exam_ids)},
                                   filters.search)
    return AttemptPage(rows, total, filters.page, page_size, exam_list, filters, removed)


#: How many removed attempts the first page of the list shows.
REMOVED_SHOWN = 20


def removed_attempts(exams_by_id: Mapping[int, Exam], search: str = "",
                     limit: int = REMOVED_SHOWN) -> list[RemovedAttempt]:
    """The latest removals of attempts of these exams (reset by staff, or removed by the
    system), newest first, with the learner's and the remover's names: one query over the
    history rows, which outlive the attempts."""
    if not exams_by_id:
        return []
    learner = aliased(User, name="learner")
    remover = aliased(User, name="remover")
    query = (
        select(AttemptHistory, learner.username, remover.username)
        .join(learner, learner.id == AttemptHistory.user_id)
        .outerjoin(remover, remover.id == AttemptHistory.actor_id)
        .where(AttemptHistory.exam_id.in_(sorted(exams_by_id)),
               AttemptHistory.action == "remove", AttemptHistory.to_status.is_(None))
        .order_by(AttemptHistory.created_at.desc(), AttemptHistory.id.desc())
        .limit(limit)
    )
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(learner.username).like(pattern)
                            | func.lower(learner.email).like(pattern))
    return [
        RemovedAttempt(row.attempt_id, learner_name, exams_by_id[row.exam_id], row.from_status,
                       row.created_at, remover_name, row.actor_kind, row.reason)
        for row, learner_name, remover_name in db.session.execute(query)
    ]


def _attach_earlier(rows: list[AttemptRow]) -> None:
    """The earlier attempts of the learners and exams on the page, newest first, one query.

    Asked as "these exams x these learners" (an index lookup per pair on ``(exam_id,
    user_id)``); the few rows of a learner's other exams on the page are dropped here. A
    row-value ``IN`` of the pairs would be exact, but SQLite scans the whole table for it.
    """
    if not rows:
        return
    pairs = {(row.attempt.exam_id, row.attempt.user_id) for row in rows}
    latest_ids = {row.attempt.id for row in rows}
    earlier = db.session.execute(
        select(Attempt)
        .where(Attempt.exam_id.in_(sorted({exam_id for exam_id, _ in pairs})),
               Attempt.user_id.in_(sorted({user_id for _, user_id in pairs})),
               Attempt.id.not_in(latest_ids))
        .order_by(Attempt.id.desc())
    ).scalars().all()
    by_pair: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for attempt in earlier:
        pair = (attempt.exam_id, attempt.user_id)
        if pair in pairs:
            by_pair[pair].append(attempt)
    for row in rows:
        row.earlier = by_pair.get((row.attempt.exam_id, row.attempt.user_id), [])
