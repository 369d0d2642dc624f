"""The ``webhooks`` blueprint object; its routes live in the view modules beside it."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)
