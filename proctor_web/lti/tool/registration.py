"""Registering the platforms (LMSs) that may launch us, and the URLs we give them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.errors import AlreadyExists, BadRequest
from proctor_web.extensions import db
from proctor_web.models import LtiDeployment, LtiPlatform

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")


@dataclass(frozen=True)
class PlatformFields:
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: tuple[str, ...]
    name: str = ""


def _require(value: str, field: str, max_length: int = 255) -> str:
    value = (value or "").strip()
    if not value:
        raise BadRequest(_("%(field)s: this field is required.", field=field), field=field)
    if len(value) > max_length:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field=field,
                           maximum=max_length), field=field)
    return value


def _require_url(value: str, field: str) -> str:
    value = _require(value, field, 1024)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(_("%(field)s: %(value)s is not an http(s) URL.", field=field,
                           value=repr(value)), field=field)
    return value


def clean_fields(fields: PlatformFields) -> PlatformFields:
    """The fields trimmed and checked; a ``BadRequest`` names the first bad field."""
    deployment_ids = tuple(dict.fromkeys(
        d.strip() for d in fields.deployment_ids if d and d.strip()))
    if not deployment_ids:
        raise BadRequest(_("%(field)s: at least one deployment id is required.",
                           field="deployment_id"), field="deployment_id")
    for deployment_id in deployment_ids:
        _require(deployment_id, "deployment_id")
    return PlatformFields(
        # The issuer is an https URL in production; tests and local demos use http.
        issuer=_require_url(fields.issuer, "issuer"),
        client_id=_require(fields.client_id, "client_id"),
        auth_login_url=_require_url(fields.auth_login_url, "auth_login_url"),
        auth_token_url=_require_url(fields.auth_token_url, "auth_token_url"),
        key_set_url=_require_url(fields.key_set_url, "key_set_url"),
        deployment_ids=deployment_ids,
        name=(fields.name or "").strip()[:255],
    )


def find_platform(issuer: str, client_id: str) -> LtiPlatform | None:
    return db.session.execute(
        select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                  LtiPlatform.client_id == client_id)
    ).scalar_one_or_none()


def platforms_of_issuer(issuer: str) -> list[LtiPlatform]:
    return list(db.session.scalars(
        select(LtiPlatform).where(LtiPlatform.issuer == issuer).order_by(LtiPlatform.id)))


def all_platforms() -> list[LtiPlatform]:
    return list(db.session.scalars(select(LtiPlatform).order_by(LtiPlatform.id)))


def _set_deployments(platform: LtiPlatform, deployment_ids: Iterable[str],
                     now: datetime) -> None:
    wanted = list(deployment_ids)
    for deployment in list(platform.deployments):
        if deployment.deployment_id not in wanted:
            platform.deployments.remove(deployment)
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in wanted:
        if deployment_id not in known:
            platform.deployments.append(
                LtiDeployment(deployment_id=deployment_id, created=now, modified=now))


def add_platform(fields: PlatformFields, now: datetime) -> LtiPlatform:
    """Register a platform (flushes). Refuses a second registration of issuer + client id."""
    fields = clean_fields(fields)
    if find_platform(fields.issuer, fields.client_id) is not None:
        raise AlreadyExists(
            _("A platform with issuer %(issuer)s and client id %(client_id)s is already "
              "registered.", issuer=repr(fields.issuer), client_id=repr(fields.client_id)),
            field="client_id")
    platform = LtiPlatform(
        name=fields.name or urlsplit(fields.issuer).hostname or fields.issuer,
        issuer=fields.issuer, client_id=fields.client_id,
        auth_login_url=fields.auth_login_url, auth_token_url=fields.auth_token_url,
        key_set_url=fields.key_set_url, is_active=True, created=now, modified=now)
    db.session.add(platform)
    _set_deployments(platform, fields.deployment_ids, now)
    db.session.flush()
    return platform


def update_platform(platform: LtiPlatform, fields: PlatformFields, is_active: bool,
                    now: datetime) -> LtiPlatform:
    fields = clean_fields(fields)
    other = find_platform(fields.issuer, fields.client_id)
    if other is not None and other.id != platform.id:
        raise AlreadyExists(
            _("A platform with issuer %(issuer)s and client id %(client_id)s is already "
              "registered.", issuer=repr(fields.issuer), client_id=repr(fields.client_id)),
            field="client_id")
    platform.name = fields.name or platform.name
    platform.issuer = fields.issuer
    platform.client_id = fields.client_id
    platform.auth_login_url = fields.auth_login_url
    platform.auth_token_url = fields.auth_token_url
    platform.key_set_url = fields.key_set_url
    platform.is_active = is_active
    platform.modified = now
    _set_deployments(platform, fields.deployment_ids, now)
    db.session.flush()
    return platform


def tool_urls(site_url: str) -> dict[str, str]:
    """What an LMS administrator pastes into the LMS to register us."""
    base = site_url.rstrip("/")
    return {
        "login_initiation_url": f"{base}/lti/login",
        "redirect_url": f"{base}/lti/launch",
        "target_link_url": f"{base}/lti/launch",
        "deep_linking_url": f"{base}/lti/launch",
        "key_set_url": f"{base}/lti/jwks.json",
    }
