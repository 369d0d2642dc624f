"""Course-staff JSON endpoints, on edx-proctoring's paths with its field names and codes.

Each view: load (404), authorise (403: course or global staff; anonymous callers get 401),
one service call, commit once, JSON. Refusals are ``{"detail": ..., "field"?: ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from proctor_web.blueprints.api.blueprint import bp
from proctor_web.errors import BadRequest, NotFound, PermissionDenied, ProctorError
from proctor_web.extensions import db
from proctor_web.models import Allowance, Attempt, Exam, User, utcnow
from proctor_web.services import allowances, courses, exams, removal
from proctor_web.services.attempts import Actor, remove_attempt
from proctor_web.services.dashboard import (
    access,
    allowance_groups,
    attempt_list,
    onboarding_list,
    paging,
    staff_actions,
)
from proctor_web.services.learner.payloads import exam_fields, iso
from proctor_web.services.validation import parse_int

PE = "/v1/proctored_exam"


class Unprocessable(ProctorError):
    """edx-proctoring answers 422 to an exam registration it cannot use."""

    status = 422


# Serialisation ----------------------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email}


def attempt_json(attempt: Attempt, exam: dict[str, Any] | None = None,
                 user: dict[str, Any] | None = None) -> dict[str, Any]:
    """``exam`` and ``user``: their JSON when the caller already built it."""
    return {
        "id": attempt.id,
        "created": iso(attempt.created),
        "modified": iso(attempt.modified),
        "user": user if user is not None else user_json(attempt.user),
        "started_at": iso(attempt.started_at),
        "completed_at": iso(attempt.completed_at),
        "external_id": attempt.external_id,
        "status": attempt.status,
        "proctored_exam": exam if exam is not None else exam_fields(attempt.exam),
        "allowed_time_limit_mins": attempt.allowed_time_limit_mins,
        "attempt_code": attempt.attempt_code,
        "is_sample_attempt": attempt.is_sample_attempt,
        "taking_as_proctored": attempt.taking_as_proctored,
        "review_policy_id": attempt.review_policy_id,
        "is_status_acknowledged": attempt.is_status_acknowledged,
        "time_remaining_seconds": attempt.time_remaining_seconds,
        "is_resumable": attempt.is_resumable,
        "ready_to_resume": attempt.ready_to_resume,
        "resumed": attempt.resumed,
    }


def allowance_json(allowance: Allowance) -> dict[str, Any]:
    return {
        "id": allowance.id,
        "created": iso(allowance.created),
        "modified": iso(allowance.modified),
        "user": user_json(allowance.user),
        "key": allowance.key,
        "value": allowance.value,
        "proctored_exam": exam_fields(allowance.exam),
    }


# Input and access -------------------------------------------------------------------------


def _payload() -> Mapping[str, Any]:
    """The JSON object or form body (edx clients send both)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest(_("The body must be a JSON object."))
        return data
    return request.form


def _require_manager(course_id: str) -> None:
    if not access.course_access(current_user, course_id).can_manage:
        raise PermissionDenied(_("You must be course staff to do this."))


def _require_exam_manager(exam: Exam) -> None:
    if not courses.can_manage(current_user, exam.course_id):
        raise PermissionDenied(_("You must be course staff to do this."))


def _exam_id(value: Any) -> int:
    return parse_int(value, "exam_id", minimum=1)


# Exams (edx #1-#4) ------------------------------------------------------------------------


@bp.post(f"{PE}/exam")
@login_required
def exam_create() -> Response:
    data = _payload()
    course_id = str(data.get("course_id") or "").strip()
    if not course_id:
        raise BadRequest(_("%(field)s: this field is required.", field="course_id"),
                         field="course_id")
    if courses.get_course(course_id) is None:
        # A new course is created with its first exam: only global staff may do that.
        if not current_user.is_staff:
            raise PermissionDenied(_("You must be course staff to do this."))
    else:
        _require_manager(course_id)
    fields = {k: data[k] for k in exams.EXAM_FIELDS if k in data}
    exam = exams.create_exam(course_id, data.get("content_id"), fields, current_user, utcnow())
    db.session.commit()
    return jsonify({"exam_id": exam.id})


@bp.put(f"{PE}/exam")
@login_required
def exam_update() -> Response:
    data = _payload()
    exam = exams.get_exam(_exam_id(data.get("exam_id")))
    _require_exam_manager(exam)
    fields = {k: data[k] for k in exams.EXAM_FIELDS if k in data}
    exams.update_exam(exam, fields, current_user, utcnow())
    db.session.commit()
    return jsonify({"exam_id": exam.id})


def _require_member(course_id: str) -> None:
    if not access.is_member(current_user, course_id):
        raise PermissionDenied(_("You are not enrolled in this course."))


@bp.get(f"{PE}/exam/exam_id/<int:exam_id>")
@login_required
def exam_get(exam_id: int) -> Response:
    exam = exams.get_exam(exam_id)
    _require_member(exam.course_id)
    return jsonify(exam_fields(exam))


@bp.get(f"{PE}/exam/course_id/<course_id>/content_id/<content_id>")
@login_required
def exam_get_by_content(course_id: str, content_id: str) -> Response:
    exam = exams.get_exam_by_content_id(course_id, content_id)
    _require_member(course_id)
    return jsonify(exam_fields(exam))


@bp.get(f"{PE}/exam/course_id/<course_id>")
@login_required
def exam_list(course_id: str) -> Response:
    access.course_access(current_user, course_id)  # 404 for an unknown course
    _require_member(course_id)
    return jsonify([exam_fields(e) for e in exams.course_exams(course_id, active_only=True)])


@bp.patch(f"{PE}/exam_registration/course_id/<course_id>")
@login_required
def exam_registration(course_id: str) -> Response:
    if courses.get_course(course_id) is None:
        if not current_user.is_staff:
            raise PermissionDenied(_("You must be course staff to do this."))
    else:
        _require_manager(course_id)
    items = request.get_json(silent=True)
    if not isinstance(items, list):
        raise Unprocessable(_("The body must be a JSON list of exams."))
    try:
        registered = exams.register_exams(course_id, items, current_user, utcnow())
    except BadRequest as error:
        raise Unprocessable(error.message) from None
    db.session.commit()
    return jsonify([{"exam_id": exam.id} for exam in registered])


# Attempts (edx #7, #10, #29) --------------------------------------------------------------


def _grouped(course_id: str, search: str) -> Response:
    _require_manager(course_id)
    filters = attempt_list.AttemptFilters(
        search=search.strip()[:254], page=paging.parse_page(request.args.get("page"))
    )
    page = attempt_list.list_attempts(course_id, filters)
    # A page holds a few exams and learners: each one's JSON is built once.
    exam_json: dict[int, dict[str, Any]] = {}
    learner_json: dict[int, dict[str, Any]] = {}

    def json_of(attempt: Attempt) -> dict[str, Any]:
        if attempt.exam_id not in exam_json:
            exam_json[attempt.exam_id] = exam_fields(attempt.exam)
        if attempt.user_id not in learner_json:
            learner_json[attempt.user_id] = user_json(attempt.user)
        return attempt_json(attempt, exam_json[attempt.exam_id], learner_json[attempt.user_id])

    results = []
    for row in page.rows:
        latest = json_of(row.attempt)
        results.append({**latest, "exam_type": row.type.value,
                        "all_attempts": [latest, *(json_of(a) for a in row.earlier)]})
    return jsonify({
        "proctored_exam_attempts": results,
        "pagination_info": {
            "has_previous": page.has_previous,
            "has_next": page.has_next,
            "current_page": page.page,
            "total_pages": page.pages,
            "count": page.total,
        },
        "attempt_url": url_for("api.attempts_grouped", course_id=course_id),
    })


@bp.get(f"{PE}/attempt/grouped/course_id/<course_id>")
@login_required
def attempts_grouped(course_id: str) -> Response:
    return _grouped(course_id, "")


@bp.get(f"{PE}/attempt/grouped/course_id/<course_id>/search/<path:search>")
@login_required
def attempts_grouped_search(course_id: str, search: str) -> Response:
    return _grouped(course_id, search)


@bp.delete(f"{PE}/attempt/<int:attempt_id>")
@login_required
def attempt_delete(attempt_id: int) -> Response:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    _require_exam_manager(attempt.exam)
    confirmed = _confirm_removal_with_provider([attempt])
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:  # removed by someone else while the provider was asked
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    remove_attempt(attempt, Actor.staff(current_user), utcnow(), "removed through the API",
                   provider_confirmed=attempt.id in confirmed)
    db.session.commit()
    return jsonify({})


def _confirm_removal_with_provider(attempts: list[Attempt]) -> frozenset[int]:
    """The provider deletes its records first (502 and nothing removed if it does not
    confirm), with no transaction held open across its answer."""
    records = removal.records_to_confirm(attempts)
    if not records:
        return frozenset()
    db.session.commit()
    return removal.confirm_removed(records)


@bp.delete(f"{PE}/exam_id/<int:exam_id>/user_id/<int:user_id>/reset_attempts")
@login_required
def reset_attempts(exam_id: int, user_id: int) -> Response:
    exam = exams.get_exam(exam_id)
    _require_exam_manager(exam)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User %(id)s does not exist.", id=user_id))
    confirmed = _confirm_removal_with_provider(staff_actions.attempts_to_reset(exam, user))
    staff_actions.reset_attempts(exam, user, current_user, utcnow(),
                                 provider_confirmed=confirmed)
    db.session.commit()
    return jsonify({})


# Allowances (edx #14-#16) -----------------------------------------------------------------


@bp.get(f"{PE}/<course_id>/allowance")
@login_required
def allowance_list(course_id: str) -> Response:
    _require_manager(course_id)
    return jsonify([allowance_json(a) for a in allowances.allowances_for_course(course_id)])


@bp.get(f"{PE}/<course_id>/grouped/allowance")
@login_required
def allowance_grouped(course_id: str) -> Response:
    _require_manager(course_id)
    return jsonify({
        group.user.username: [allowance_json(a) for a in group.allowances]
        for group in allowance_groups.grouped_allowances(course_id)
    })


@bp.put(f"{PE}/allowance")
@login_required
def allowance_set() -> Response:
    data = _payload()
    exam = exams.get_exam(_exam_id(data.get("exam_id")))
    _require_exam_manager(exam)
    results = allowances.grant_allowances(
        exam.course_id, [str(exam.id)], data.get("user_info"), str(data.get("key") or ""),
        data.get("value"), current_user, utcnow(),
    )
    failed = [r for r in results if not r.ok]
    if failed:
        raise BadRequest(failed[0].message, field=failed[0].field or "user_info")
    db.session.commit()
    return jsonify(None)


@bp.delete(f"{PE}/allowance")
@login_required
def allowance_delete() -> Response:
    data = _payload()
    exam = exams.get_exam(_exam_id(data.get("exam_id")))
    _require_exam_manager(exam)
    user = db.session.get(User, parse_int(data.get("user_id"), "user_id", minimum=1))
    if user is None:
        raise NotFound(_("%(field)s: no such user.", field="user_id"), field="user_id")
    key = str(data.get("key") or "")
    if key not in allowances.ALLOWANCE_TYPES or key == allowances.TIME_MULTIPLIER:
        raise BadRequest(_("%(field)s: expected %(first)s or %(second)s, got %(value)s.",
                           field="key", first="additional_time_granted",
                           second="review_policy_exception", value=repr(key)), field="key")
    allowances.delete_allowance(exam, user, key, current_user, utcnow())
    db.session.commit()
    return jsonify(None)


def _bulk(course_id: str | None) -> tuple[Response, int]:
    data = _payload()
    course_id = course_id or str(data.get("course_id") or "").strip()
    if not course_id:
        raise BadRequest(_("%(field)s: this field is required.", field="course_id"),
                         field="course_id")
    _require_manager(course_id)
    results = allowances.grant_allowances(
        course_id, data.get("exam_ids"), data.get("user_ids"),
        str(data.get("allowance_type") or ""), data.get("value"), current_user, utcnow(),
    )
    succeeded = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    if not succeeded:
        field = failed[0].field if failed and failed[0].field else "user_info"
        raise BadRequest(failed[0].message if failed else _("Nothing to do."), field=field)
    db.session.commit()
    if failed:
        body = [{"exam_id": r.exam_id, "user_id": r.user, "detail": r.message} for r in failed]
        return jsonify(body), 207
    return jsonify([{"exam_id": r.exam_id, "user_id": r.user} for r in succeeded]), 200


@bp.put(f"{PE}/bulk_allowance")
@login_required
def bulk_allowance() -> tuple[Response, int]:
    return _bulk(None)


@bp.put(f"{PE}/<course_id>/bulk_allowance")
@login_required
def bulk_allowance_course(course_id: str) -> tuple[Response, int]:
    return _bulk(course_id)


# Onboarding (edx #19) ---------------------------------------------------------------------


@bp.get("/v1/user_onboarding/status/course_id/<course_id>")
@login_required
def onboarding_course(course_id: str) -> Response:
    _require_manager(course_id)
    filters = onboarding_list.parse_onboarding_filters(
        request.args.get("text_search"), request.args.getlist("statuses"),
        request.args.get("page"),
    )
    page = onboarding_list.onboarding_page(course_id, filters, utcnow())
    if not page.has_onboarding_exam:
        raise NotFound(_("This course has no onboarding exam."))

    def link(number: int) -> str | None:
        if number < 1 or number > page.pages:
            return None
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for("api.onboarding_course", course_id=course_id, page=number,
                       _external=True, **args)

    return jsonify({
        "count": page.total,
        "previous": link(page.page - 1),
        "next": link(page.page + 1),
        "num_pages": page.pages,
        "results": [
            {"username": r.username, "enrollment_mode": r.enrollment_mode, "status": r.status,
             "modified": iso(r.modified)}
            for r in page.rows
        ],
        "use_onboarding_profile_api": page.use_onboarding_profile_api,
    })
