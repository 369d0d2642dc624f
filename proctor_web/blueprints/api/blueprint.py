"""The ``api`` blueprint object; its routes live in the view modules beside it."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/edx_proctoring")
