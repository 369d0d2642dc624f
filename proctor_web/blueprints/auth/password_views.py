"""Choosing a password from an emailed link (an invitation or a reset), and asking for a
reset link ("Forgot your password?")."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from proctor_web.blueprints.auth.blueprint import bp
from proctor_web.blueprints.auth.views import CSRF_SESSION_KEY
from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import password_links
from proctor_web.services.courses import MIN_PASSWORD_LENGTH
from proctor_web.services.password_links import LinkRefused

PASSWORD_FIELDS = ("password", "confirmation")


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> str | tuple[str, int]:
    """The same answer whether or not an account matches, so it tells nobody who has one."""
    if request.method == "GET":
        return render_template("auth/forgot_password.html", error=None, sent=False,
                               identifier="")
    identifier = request.form.get("identifier", "").strip()
    if not identifier:
        return render_template("auth/forgot_password.html", sent=False, identifier="",
                               error=_("Enter your username or your email address.")), 400
    password_links.request_reset(identifier, utcnow())
    db.session.commit()
    return render_template("auth/forgot_password.html", error=None, sent=True,
                           identifier=identifier)


def _link_problem(refused: LinkRefused) -> tuple[str, int]:
    db.session.rollback()
    return render_template("auth/link_problem.html", problem=refused.problem.value,
                           kind=refused.kind.value if refused.kind else None), refused.status


def _set_password_page(link: password_links.CheckedLink, token: str,
                       errors: dict[str, str]) -> str:
    return render_template("auth/set_password.html", link=link, token=token, errors=errors,
                           min_password_length=MIN_PASSWORD_LENGTH)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Response | str | tuple[str, int]:
    now = utcnow()
    try:
        link = password_links.check_token(token, now)
    except LinkRefused as refused:
        return _link_problem(refused)
    if request.method == "GET":
        return _set_password_page(link, token, {})
    try:
        password_links.set_password_from_link(
            token, request.form.get("password", ""), request.form.get("confirmation", ""), now)
    except LinkRefused as refused:
        return _link_problem(refused)
    except BadRequest as error:
        db.session.rollback()
        field = str(error.extra.get("field", ""))
        errors = {field if field in PASSWORD_FIELDS else "": error.message}
        return _set_password_page(link, token, errors), 400
    db.session.commit()
    login_user(link.user)
    # As at sign-in: a CSRF token from before must not outlive it.
    session.pop(CSRF_SESSION_KEY, None)
    g.pop(CSRF_SESSION_KEY, None)
    flash(_("Your password is saved and you are signed in."), "success")
    return redirect(url_for("main.index"))
