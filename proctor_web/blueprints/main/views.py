"""The signed-in home page: the courses a person belongs to and their exams."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from proctor_web.blueprints.main.blueprint import bp
from proctor_web.services.dashboard import home


@bp.route("/")
@login_required
def index() -> str:
    return render_template("main/index.html", courses=home.home_for(current_user))



@bp.get("/favicon.ico")
def favicon():
    """Clients that ask for the icon without reading the page's ``<link rel=icon>``."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
