"""The ``lti`` blueprint object; its routes live in the view modules beside it."""

from flask import Blueprint

bp = Blueprint("lti", __name__, url_prefix="/lti")
