"""Instructor dashboard pages under /courses/<course_id>/instructor/."""

from flask import Blueprint

bp = Blueprint("instructor", __name__)


@bp.record_once
def _register_labels(state) -> None:
    """Label lookups as Jinja globals, so imported macros (which get no context) see them."""
    from proctor_web.blueprints.instructor.labels import template_helpers

    state.app.jinja_env.globals.update(template_helpers())


# Routes register on import.
from proctor_web.blueprints.instructor import lms_views, views  # noqa: E402,F401
