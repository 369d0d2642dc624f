"""Instructor dashboard pages under /courses/<course_id>/instructor/."""

from proctor_web.blueprints.instructor import (  # noqa: F401  (routes register on import)
    lms_views,
    review_views,
    roster_views,
    views,
)
from proctor_web.blueprints.instructor.blueprint import bp  # noqa: F401  (registered by create_app)
