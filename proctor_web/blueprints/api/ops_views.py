"""Operations endpoints: provider dashboard redirect and user retirement."""

from __future__ import annotations

from flask import Response, jsonify, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from proctor_web.auth import require_course_staff
from proctor_web.blueprints.api.blueprint import bp
from proctor_web.errors import NotFound
from proctor_web.extensions import db
from proctor_web.models import User, utcnow
from proctor_web.services import provider_admin, reviews


@bp.get("/v1/instructor/<course_id>")
@bp.get("/v1/instructor/<course_id>/<int:exam_id>")
@login_required
def instructor_dashboard(course_id: str, exam_id: int | None = None) -> Response:
    """302 to the provider's dashboard (``?attempt=<external id>``, ``?config=true``)."""
    require_course_staff(current_user, course_id)
    url = provider_admin.instructor_dashboard_url(
        course_id,
        exam_id,
        current_user,
        attempt_external_id=request.args.get("attempt") or None,
        show_configuration=request.args.get("config", "").lower() == "true",
    )
    return redirect(url)


def _retiree(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User %(id)s does not exist.", id=user_id))
    return user


@bp.post("/v1/retire_backend_user/<int:user_id>/")
@login_required
def retire_backend_user(user_id: int) -> Response:
    """Ask every provider the user met to forget them: the flat ``{backend: bool}`` map,
    with status 500 when any is ``False`` (edx-proctoring's contract, which retirement
    pipelines check)."""
    user = _retiree(user_id)
    provider_admin.require_global_staff(current_user)
    results = provider_admin.retire_backend_user(user)
    response = jsonify(results)
    response.status_code = 200 if all(results.values()) else 500
    return response


@bp.post("/v1/retire_user/<int:user_id>/")
@login_required
def retire_user(user_id: int) -> Response:
    """Blank the user's personal data in proctoring records (kept for the record): 204."""
    user = _retiree(user_id)
    provider_admin.require_global_staff(current_user)
    reviews.retire_user_data(user, utcnow())
    db.session.commit()
    return Response(status=204)
