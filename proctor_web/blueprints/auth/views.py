"""Sign in and out with a local account."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from proctor_web.auth import is_safe_next
from proctor_web.blueprints.auth import bp
from proctor_web.services import courses


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
        user = courses.find_user(username) if username else None
        if not username or not password:
            error = _("Enter your username and your password.")
        elif user is None or not user.check_password(password):
            error = _("That username and password do not match an account.")
        elif not user.is_active:
            error = _("This account is inactive. Contact support to have it reactivated.")
        else:
            login_user(user)
            return redirect(target)
        return render_template("auth/login.html", error=error, next=next_url or "",
                               username=username), 400
    return render_template("auth/login.html", error=None, next=next_url or "", username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))
