"""Global staff register the platforms (LMSs) that may launch us, and their deployments."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from proctor_web.blueprints.lti.blueprint import bp
from proctor_web.blueprints.lti.link_views import protect_form
from proctor_web.errors import AlreadyExists, BadRequest, NotFound, PermissionDenied
from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.models import LtiPlatform, utcnow


def _require_global_staff() -> None:
    if not current_user.is_staff:
        raise PermissionDenied(_("Only global staff can manage LMS platforms."))


def _fields_from_form() -> registration.PlatformFields:
    form = request.form
    deployment_ids = [line for line in form.get("deployment_ids", "").replace(",", "\n")
                      .splitlines() if line.strip()]
    return registration.PlatformFields(
        issuer=form.get("issuer", ""), client_id=form.get("client_id", ""),
        auth_login_url=form.get("auth_login_url", ""),
        auth_token_url=form.get("auth_token_url", ""),
        key_set_url=form.get("key_set_url", ""), deployment_ids=tuple(deployment_ids),
        name=form.get("name", ""))


def _form_page(platform: LtiPlatform | None, status: int = 200,
               error: Exception | None = None) -> tuple[str, int]:
    if request.method == "POST":
        values: dict[str, Any] = dict(request.form)
        values["is_active"] = bool(request.form.get("is_active"))
    elif platform is not None:
        values = {name: getattr(platform, name) for name in (
            "name", "issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url",
            "is_active")}
        values["deployment_ids"] = "\n".join(d.deployment_id for d in platform.deployments)
    else:
        values = {"is_active": True}
    return render_template(
        "lti/platform_form.html", platform=platform, values=values, error=error,
        error_field=getattr(error, "extra", {}).get("field") if error else None,
        tool_urls=registration.tool_urls(current_app.config["SITE_URL"])), status


@bp.get("/platforms")
@login_required
def platforms() -> str:
    _require_global_staff()
    return render_template("lti/platforms.html", platforms=registration.all_platforms(),
                           tool_urls=registration.tool_urls(current_app.config["SITE_URL"]))


@bp.route("/platforms/new", methods=["GET", "POST"])
@login_required
def platform_new() -> Any:
    _require_global_staff()
    if request.method == "GET":
        return _form_page(None)
    protect_form()
    try:
        platform = registration.add_platform(_fields_from_form(), utcnow())
    except (BadRequest, AlreadyExists) as error:
        db.session.rollback()
        return _form_page(None, error.status, error)
    db.session.commit()
    flash(_("Platform %(name)s registered.", name=platform.name), "success")
    return redirect(url_for("lti.platforms"), code=303)


@bp.route("/platforms/<int:platform_id>", methods=["GET", "POST"])
@login_required
def platform_edit(platform_id: int) -> Any:
    _require_global_staff()
    platform = db.session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(_("No such platform."))
    if request.method == "GET":
        return _form_page(platform)
    protect_form()
    try:
        registration.update_platform(platform, _fields_from_form(),
                                     bool(request.form.get("is_active")), utcnow())
    except (BadRequest, AlreadyExists) as error:
        db.session.rollback()
        return _form_page(platform, error.status, error)
    db.session.commit()
    flash(_("Platform %(name)s saved.", name=platform.name), "success")
    return redirect(url_for("lti.platforms"), code=303)
