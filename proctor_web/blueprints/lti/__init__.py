from flask import Blueprint

bp = Blueprint("lti", __name__, url_prefix="/lti")

from proctor_web.blueprints.lti import (  # noqa: E402,F401  (routes register on import)
    admin_views,
    frame,
    launch_views,
    link_views,
    views,
)
