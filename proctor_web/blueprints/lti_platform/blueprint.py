"""The ``lti_platform`` blueprint object; its routes live in the view modules beside it."""

from flask import Blueprint

bp = Blueprint("lti_platform", __name__, url_prefix="/lti/platform")
