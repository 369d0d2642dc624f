from flask import Blueprint

bp = Blueprint("lti_platform", __name__, url_prefix="/lti/platform")

from proctor_web.blueprints.lti_platform import views  # noqa: E402,F401  (routes register on import)
