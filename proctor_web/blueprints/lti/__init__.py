
from proctor_web.blueprints.lti import (  # noqa: F401  (routes register on import)
    admin_views,
    frame,
    launch_views,
    link_views,
    views,
)
from proctor_web.blueprints.lti.blueprint import bp  # noqa: F401  (registered by create_app)
