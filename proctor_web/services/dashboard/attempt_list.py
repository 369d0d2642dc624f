"""Read model of the attempts page and the grouped-attempts endpoint: the latest attempt per
learner and exam, with their earlier attempts, filtered, sorted and paginated in SQL."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, select, tuple_
from sqlalchemy.orm import aliased, contains_eager

from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import Attempt, Exam, ExamType, User
from proctor_web.models.attempt import STORED_STATUSES
from proctor_web.services import courses, exams
from proctor_web.services.dashboard.course_exams import course_exam_list
from proctor_web.services.dashboard.paging import PAGE_SIZE, parse_page

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
