"""What staff and operators ask of providers: retiring a user's data there, and the
provider's own review dashboard for a course or an exam."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.backends import get_backend
from proctor_web.errors import BackendError, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    Exam,
    User,
)
from proctor_web.services.obscured_ids import obscured_user_id

log = logging.getLogger(__name__)



def backends_used_by(user: User) -> list[str]:
    """Names of the backends of every exam the user attempted, archived attempts included."""
    live = select(Exam.backend).join(Attempt, Attempt.exam_id == Exam.id).where(
        Attempt.user_id == user.id, Attempt.taking_as_proctored.is_(True)
    )
    archived = select(Exam.backend).join(AttemptHistory, AttemptHistory.exam_id == Exam.id).where(
        AttemptHistory.user_id == user.id
    )
    names = {name for (name,) in db.session.execute(live.union(archived)) if name}
    return sorted(names)


def retire_backend_user(user: User) -> dict[str, bool]:
    """Ask each provider the user met to forget them; ``{backend: forgotten}``.

    Every provider is asked whatever the others answer. One that cannot be asked (not
    configured, unreachable, an answer that is not a boolean) counts as ``False`` and is
    logged: the caller answers edx-proctoring's 500 when any value is ``False``.
    """
    results: dict[str, bool] = {}
    for name in backends_used_by(user):
        try:
            backend = get_backend(name)
            results[name] = bool(backend.retire_user(obscured_user_id(user.id, name)))
        except BackendError as error:
            results[name] = False
            log.warning("user %s not retired at %s: %s", user.id, name, error.message)
        else:
            if not results[name]:
                log.warning("user %s: %s answered false to the retirement", user.id, name)
    return results


def instructor_dashboard_url(
    course_id: str,
    exam_id: int | None,
    user: User,
    *,
    attempt_external_id: str | None = None,
    show_configuration: bool = False,
) -> str:
    """The provider dashboard URL for a course (or one exam, or one attempt's review)."""
    from proctor_web.errors import BadRequest, NotFound
    from proctor_web.models import Review
    from proctor_web.services.exams import course_exams

    exams_ = course_exams(course_id, active_only=False)
    if exam_id is not None:
        exams_ = [e for e in exams_ if e.id == exam_id]
        if not exams_:
            raise NotFound(_("No exam %(id)s in course %(course_id)s.", id=exam_id,
                             course_id=course_id))
    proctored = [e for e in exams_ if e.is_proctored]
    if not proctored:
        raise NotFound(_("This course has no proctored exams."))
    names = {e.backend for e in proctored}
    if len(names) > 1:
        raise BadRequest(_("The course's exams use different proctoring providers; "
                           "open the dashboard of one exam instead."))
    backend = get_backend(names.pop())
    exam = proctored[0] if exam_id is not None else None
    video: bytes | None = None
    if attempt_external_id:
        # Only an attempt of this course's proctored exams (this provider's): a provider id
        # from another course must not open its review video or its provider page here.
        exam_ids = [e.id for e in proctored]
        live = db.session.execute(
            select(Attempt.attempt_code).where(Attempt.external_id == attempt_external_id,
                                               Attempt.exam_id.in_(exam_ids))
        ).scalars().first()
        code = live or db.session.execute(
            select(AttemptHistory.attempt_code)
            .where(AttemptHistory.external_id == attempt_external_id,
                   AttemptHistory.exam_id.in_(exam_ids))
            .order_by(AttemptHistory.id.desc()).limit(1)
        ).scalar_one_or_none()
        if code is None:
            raise NotFound(_("No attempt of this course has the provider id %(external_id)s.",
                             external_id=repr(attempt_external_id)))
        review = db.session.execute(
            select(Review).where(Review.attempt_code == code)
        ).scalar_one_or_none()
        video = review.encrypted_video_url if review is not None else None
    elif not backend.has_dashboard:
        raise NotFound(_("%(provider)s has no instructor dashboard.",
                         provider=backend.display_name))
    url = backend.get_instructor_url(
        course_id,
        {"id": obscured_user_id(user.id, backend.name), "full_name": user.full_name,
         "email": user.email},
        exam_external_id=exam.external_id if exam is not None else None,
        attempt_external_id=attempt_external_id,
        show_configuration_dashboard=show_configuration,
        encrypted_video_review_url=video,
    )
    if not url:
        raise NotFound(_("%(provider)s has nothing to show for this.",
                         provider=backend.display_name))
    return url


def require_global_staff(user: User) -> None:
    if not user.is_staff:
        raise PermissionDenied(_("Only global staff may retire users."))
