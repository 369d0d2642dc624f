"""The OIDC third-party-initiated login (1EdTech Security Framework 5.1.1).

The platform sends the browser to ``/lti/login`` with its issuer and hints; we remember a
fresh ``state`` and ``nonce`` and send the browser on to the platform's authorization
endpoint, which answers with the id_token at ``/lti/launch``. The state row holds the
nonce; the browser keeps the state (a partitioned cookie, or the platform's postMessage
storage when it offers one), so a launch posted from another browser is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from flask_babel import gettext as _
from sqlalchemy import delete, select

from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.lti.tool.errors import LaunchRefused
from proctor_web.models import LtiLoginState, LtiNonce, LtiPlatform

#: How long a platform may take between our login redirect and its launch post.
LOGIN_STATE_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    nonce: str
    platform: LtiPlatform
    storage_target: str | None


def _platform_for_login(issuer: str, client_id: str | None) -> LtiPlatform:
    if client_id:
        platform = registration.find_platform(issuer, client_id)
        if platform is None:
            if registration.platforms_of_issuer(issuer):
                raise LaunchRefused("unknown_client", _(
                    "This platform (%(issuer)s) has no registration for client id "
                    "%(client_id)s.", issuer=issuer, client_id=client_id))
            raise LaunchRefused("unknown_issuer", _(
                "No platform with issuer %(issuer)s is registered here.", issuer=issuer))
        return platform
    platforms = registration.platforms_of_issuer(issuer)
    if not platforms:
        raise LaunchRefused("unknown_issuer", _(
            "No platform with issuer %(issuer)s is registered here.", issuer=issuer))
    if len(platforms) > 1:
        raise LaunchRefused("client_id_required", _(
            "Several registrations share the issuer %(issuer)s: the login request must name "
            "its client_id.", issuer=issuer))
    return platforms[0]


def _sweep(now: datetime) -> None:
    """Forget logins never answered and nonces past their token's expiry."""
    db.session.execute(delete(LtiLoginState).where(LtiLoginState.expires_at < now))
    db.session.execute(delete(LtiNonce).where(LtiNonce.expires_at < now))


def start_login(params: Mapping[str, str], redirect_uri: str, now: datetime,
                our_hosts: tuple[str, ...] = ()) -> LoginRedirect:
    """Check the login initiation request and remember its state (flushes).

    ``our_hosts``: the host[:port] names of this site; the target link must be one of ours.
    """
    missing = [name for name in ("iss", "login_hint", "target_link_uri")
               if not (params.get(name) or "").strip()]
    if missing:
        raise LaunchRefused("missing_parameters", _(
            "The login request lacks %(names)s.", names=", ".join(missing)))
    target = urlsplit(params["target_link_uri"])
    if target.scheme not in ("http", "https") or not target.hostname or (
            our_hosts and target.netloc not in our_hosts):
        raise LaunchRefused("bad_target_link_uri", _(
            "The login request's target_link_uri is not a URL of this tool."))
    platform = _platform_for_login(params["iss"].strip(), (params.get("client_id") or "").strip()
                                   or None)
    if not platform.is_active:
        raise LaunchRefused("platform_inactive", _(
            "The registration of this platform is switched off.", ), status=403)
    deployment_id = (params.get("lti_deployment_id") or "").strip()
    if deployment_id and deployment_id not in {d.deployment_id for d in platform.deployments}:
        raise LaunchRefused("unknown_deployment", _(
            "Deployment %(deployment_id)s of this platform is not registered here.",
            deployment_id=deployment_id))
    _sweep(now)
    storage_target = (params.get("lti_storage_target") or "").strip()[:255] or None
    login = LtiLoginState(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                          platform_id=platform.id, storage_target=storage_target,
                          expires_at=now + LOGIN_STATE_LIFETIME)
    db.session.add(login)
    db.session.flush()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": params["login_hint"],
        "state": login.state,
        "nonce": login.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginRedirect(url=platform.auth_login_url + separator + urlencode(query),
                         state=login.state, nonce=login.nonce, platform=platform,
                         storage_target=storage_target)


def pending_login(state: str, now: datetime) -> LtiLoginState | None:
    if not state:
        return None
    login = db.session.execute(
        select(LtiLoginState).where(LtiLoginState.state == state)).scalar_one_or_none()
    if login is None or login.expires_at < now:
        return None
    return login
