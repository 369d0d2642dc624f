"""JSON API compatible with edx-proctoring's REST paths, under /api/edx_proctoring/.

Learner endpoints live in ``learner_views``, course-staff endpoints in ``instructor_views``.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/edx_proctoring")

from proctor_web.blueprints.api import (  # noqa: E402,F401  (routes register on import)
    instructor_views,
    learner_views,
    ops_views,
)
