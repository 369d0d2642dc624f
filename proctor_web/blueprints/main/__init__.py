from flask import Blueprint

bp = Blueprint("main", __name__)

from proctor_web.blueprints.main import views  # noqa: E402,F401  (routes register on import)
