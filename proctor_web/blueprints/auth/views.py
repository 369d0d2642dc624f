"""Sign in and out with a local account."""

from __future__ import annotations

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from proctor_web.auth import is_safe_next
from proctor_web.blueprints.auth.blueprint import bp
from proctor_web.extensions import db
from proctor_web.services import accounts

#: Where Flask-WTF keeps the CSRF token in the session (and caches it in ``g``).
CSRF_SESSION_KEY = "csrf_token"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = request.values.get("next")
    target = next_url if is_safe_next(next_url) else url_for("main.index")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target)
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = accounts.authenticate(username, password) if username and password else None
        if not username or not password:
            error = _("Enter your username and your password.")
        elif user is None:
            error = _("That username and password do not match an account.")
        elif not user.is_active:
            error = _("This account is inactive. Contact support to have it reactivated.")
        else:
            login_user(user)
            # A token seen before sign-in (on a shared computer, say) must not outlive it.
            session.pop(CSRF_SESSION_KEY, None)
            g.pop(CSRF_SESSION_KEY, None)
            return redirect(target)
        return render_template("auth/login.html", error=error, next=next_url or "",
                               username=username), 400
    return render_template("auth/login.html", error=None, next=next_url or "", username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    # Every session of this person ends, not only this browser's: a cookie copied from a
    # shared exam-room computer stops working too.
    accounts.end_sessions(current_user._get_current_object(), "signed out")
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))
