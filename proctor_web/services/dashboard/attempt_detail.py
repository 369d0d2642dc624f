"""Read model of one attempt's page: its learner's whole history on the exam, allowances,
review and what a proctoring tool reported; also the lookup the action pages use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proctor_web.errors import NotFound
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    Attempt,
    AttemptHistory,
    AttemptIncident,
    AttemptStatus,
    Exam,
    ExamType,
    Review,
    User,
)
from proctor_web.models.attempt import REVIEWABLE
from proctor_web.services import exams, timing

S = AttemptStatus


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


def course_attempt(course_id: str, attempt_id: int) -> Attempt:
    """The attempt, if it belongs to the course (404 otherwise)."""
    attempt = db.session.execute(
        select(Attempt).where(Attempt.id == attempt_id)
    ).unique().scalar_one_or_none()
    if attempt is None or attempt.exam.course_id != course_id:
        raise NotFound(_("Attempt %(id)s does not exist in this course.", id=attempt_id))
    return attempt
