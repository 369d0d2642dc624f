"""Learner JSON endpoints, with edx-proctoring's paths, methods, field names and errors.

Every endpoint answers only about the signed-in learner's own attempts (course staff may ask
about others where edx-proctoring lets them), and every payload carries ``server_time``
(and ``timer_ends`` where an attempt runs) so clients never trust their own clock.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import abort, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from proctor_web.auth import adopt_signed_in_user, signed_in_user_id
from proctor_web.blueprints.api.blueprint import bp
from proctor_web.database import finish_read
from proctor_web.errors import BadRequest, NotFound, PermissionDenied
from proctor_web.extensions import db
from proctor_web.i18n import locale_to_remember, remember_user_locale
from proctor_web.models import utcnow
from proctor_web.routing import signs_in_from_its_rows
from proctor_web.services import courses, exams, registration
from proctor_web.services.learner import actions, loading, payloads, reads
from proctor_web.services.validation import optional_text, parse_bool, parse_int
from proctor_web.templating import current_locale

V1 = "/v1/proctored_exam"


def _body() -> dict[str, Any]:
    """JSON or form fields; edx-proctoring's clients send both."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise BadRequest(_("The request body must be a JSON object."))
        return data
    return request.form.to_dict()


def _json(data: Any, status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"{V1}/attempt", methods=["POST"])
@login_required
def create_attempt() -> Response:
    data = _body()
    exam_id = parse_int(data.get("exam_id"), "exam_id", minimum=1)
    start_clock = parse_bool(data.get("start_clock", "false"), "start_clock")
    proctored = data.get("attempt_proctored")
    attempt_proctored = None if proctored is None else parse_bool(proctored, "attempt_proctored")
    exam = exams.get_exam(exam_id)
    now = utcnow()
    attempt = actions.create_attempt(exam, current_user, now, start_clock=start_clock,
                                     attempt_proctored=attempt_proctored)
    db.session.commit()
    registration.register_pending()  # the provider is called with no transaction open
    return _json({"exam_attempt_id": attempt.id, **payloads.clock_for(attempt, now)})


@bp.route(f"{V1}/attempt", methods=["GET"])
@signs_in_from_its_rows
def timer_payload() -> Response:
    """The running exam's timer, polled by edx's LMS timer: like the poll, one SELECT of the
    learner's exam in progress signs them in when it changes nothing."""
    user_id = signed_in_user_id()
    if user_id is None:
        return _unauthorized()
    now = utcnow()
    snapshot = loading.peek_active_attempt_view(user_id)
    if snapshot is not None:
        owner = snapshot.attempt.user
        if (
            loading.is_settled(snapshot, now)
            and locale_to_remember(owner) is None
            and adopt_signed_in_user(owner)
        ):
            return _json(reads.settled_timer_payload(snapshot, now))
    if not current_user.is_authenticated:
        return _unauthorized()
    remember_user_locale()  # the before-request hook leaves it to this view
    # Nothing runs (the snapshot is one consistent read): no need to look again.
    payload = (reads.timer_payload(current_user, now) if snapshot is not None
               else reads.settled_timer_payload(None, now))
    finish_read(db.session())
    return _json(payload)


@bp.route(f"{V1}/attempt/<int:attempt_id>", methods=["GET"])
@signs_in_from_its_rows
def get_attempt(attempt_id: int) -> Response:
    """The timer poll, every learner every minute, so it signs the learner in from its own
    row instead of a query of its own (``adopt_signed_in_user``).

    Almost every poll changes nothing: one Core SELECT reads the attempt, its exam, its
    learner and its timer facts as read-only copies, and the payload is built from them.
    When time has run out, a provider is to be asked about the setup, or the learner's
    account must remember a new language, the poll loads the ORM view and refreshes it.
    """
    if signed_in_user_id() is None:
        return _unauthorized()
    now = utcnow()
    snapshot = loading.peek_attempt_view(attempt_id)
    if snapshot is None:
        _refuse_missing(attempt_id)
    owner = snapshot.attempt.user
    if (
        loading.is_settled(snapshot, now)
        and locale_to_remember(owner) is None
        and adopt_signed_in_user(owner)
    ):
        return _json(payloads.attempt_payload(snapshot, now))  # the owner's, nothing to write
    view = _view_signed_in(attempt_id)
    remember_user_locale()  # the before-request hook leaves it to this view (no extra query)
    actions.check_owner(view.attempt, current_user)
    payload = payloads.poll(view, now)
    finish_read(db.session())  # no commit when the read changed nothing
    return _json(payload)


def _unauthorized() -> Response:
    return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]


def _refuse_missing(attempt_id: int) -> NoReturn:
    """No such attempt: 404 for a signed-in user; a stale session gets 401 and so learns
    nothing about which attempts exist."""
    if not current_user.is_authenticated:
        abort(_unauthorized())
    raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))


def _view_signed_in(attempt_id: int, lock: bool = False) -> loading.AttemptView:
    """The attempt's view (one SELECT; with ``lock``, its row locked for the write that
    follows), its learner taken as the signed-in user when the session is theirs, so the
    sign-in costs no query of its own. No signed-in user, or a stale session, gets 401, also
    for an attempt that does not exist: it learns nothing."""
    if signed_in_user_id() is None:
        abort(_unauthorized())
    try:
        view = loading.load_attempt_view(attempt_id, lock=lock)
    except NotFound:
        _refuse_missing(attempt_id)
    adopt_signed_in_user(view.attempt.user)
    if not current_user.is_authenticated:
        abort(_unauthorized())
    return view


@bp.route(f"{V1}/attempt/<int:attempt_id>", methods=["PUT", "PATCH"])
@signs_in_from_its_rows
def update_attempt(attempt_id: int) -> Response:
    """The status write: the attempt (its row locked) and its signed-in learner in one
    SELECT, then the change and its history row, one COMMIT."""
    view = _view_signed_in(attempt_id, lock=True)
    remember_user_locale()
    data = _body()
    now = utcnow()
    result = actions.update_attempt(
        view.attempt, current_user, str(data.get("action") or ""), now,
        detail=str(data.get("detail") or ""), user_id=data.get("user_id"),
    )
    db.session.commit()
    registration.register_pending()  # a reset or resume may have created an attempt
    return _json(result)


@bp.route(f"{V1}/attempt/<int:attempt_id>/review_status", methods=["PUT"])
@login_required
def acknowledge_review_status(attempt_id: int) -> Response:
    view = loading.load_attempt_view(attempt_id)
    actions.check_owner(view.attempt, current_user)
    now = utcnow()
    attempt = actions.acknowledge_status(view.attempt, current_user, now)
    db.session.commit()
    return _json({"exam_attempt_id": attempt.id, **payloads.clock(now)})


@bp.route(f"{V1}/attempt/course_id/<course_id>", methods=["GET"])
@login_required
def exam_and_attempt(course_id: str) -> Response:
    user = reads.subject_user(current_user, request.args.get("user_id"), course_id)
    now = utcnow()
    payload = reads.exam_and_attempt(user, course_id, request.args.get("content_id"), now)
    db.session.commit()
    return _json(payload)


@bp.route(f"{V1}/active_attempt", methods=["GET"])
@login_required
def active_attempt() -> Response:
    user = reads.subject_user(current_user, request.args.get("user_id"), None)
    now = utcnow()
    payload = reads.active_payload(user, now)
    db.session.commit()
    return _json(payload)


@bp.route(f"{V1}/settings/exam_id/<int:exam_id>/", methods=["GET"])
@login_required
def proctoring_settings(exam_id: int) -> Response:
    exam = exams.get_exam(exam_id)
    reads.check_may_read_exam(exam, current_user)
    return _json(reads.proctoring_settings(exam, utcnow(), current_locale()))


@bp.route(f"{V1}/review_policy/exam_id/<int:exam_id>/", methods=["GET"])
@login_required
def review_policy(exam_id: int) -> Response:
    exam = exams.get_exam(exam_id)
    reads.check_may_read_exam(exam, current_user)
    policy = exams.get_review_policy(exam)
    return _json({"review_policy": policy.review_policy if policy else None,
                  **payloads.clock(utcnow())})


@bp.route(f"{V1}/active_exams_for_user", methods=["GET"])
@login_required
def active_exams_for_user() -> Response:
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    course_id = optional_text(request.args.get("course_id") or body.get("course_id"),
                              "course_id")
    user_id = request.args.get("user_id") or body.get("user_id")
    if not course_id:
        raise BadRequest(_("%(field)s: this field is required.", field="course_id"),
                         field="course_id")
    user = reads.subject_user(current_user, user_id, str(course_id))
    now = utcnow()
    items = reads.active_exams_for_user(user, str(course_id), now)
    db.session.commit()
    return _json(items)


@bp.route("/v1/user_onboarding/status", methods=["GET"])
@login_required
def onboarding_status() -> Response:
    course_id = request.args.get("course_id")
    if not course_id:
        raise BadRequest(_("%(field)s: this query parameter is required.", field="course_id"),
                         field="course_id")
    username = request.args.get("username")
    user = current_user
    if username and username != current_user.username:
        if not courses.can_manage(current_user, course_id):
            raise PermissionDenied(
                _("Only course staff can see another learner's onboarding."))
        user = courses.get_user(username)
    now = utcnow()
    return _json(reads.onboarding_status(user, course_id, now,
                                               current_app.config["ONBOARDING_VALID_DAYS"]))
