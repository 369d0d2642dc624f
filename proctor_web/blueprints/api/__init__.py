"""JSON API compatible with edx-proctoring's REST paths, under /api/edx_proctoring/.

Learner endpoints live in ``learner_views``, course-staff endpoints in ``instructor_views``.
"""

from proctor_web.blueprints.api import (  # noqa: F401  (routes register on import)
    instructor_views,
    learner_views,
    ops_views,
)
from proctor_web.blueprints.api.blueprint import bp  # noqa: F401  (registered by create_app)
