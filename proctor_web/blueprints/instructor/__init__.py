"""Instructor dashboard pages under /courses/<course_id>/instructor/."""

from flask import Blueprint

bp = Blueprint("instructor", __name__)

from proctor_web.blueprints.instructor import views  # noqa: E402,F401  (routes register on import)
