"""Verifying a launch: the id_token a platform posts to ``/lti/launch``.

Order matters for the answers people get: we find the registration from the token's
``iss`` and ``aud``/``azp``, verify the signature and the time claims, then the nonce
(used once, and the one our login issued), the state, the deployment and the LTI claims.
Nothing is written before every check has passed; then the nonce is recorded and the
login state used up, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from proctor_web.extensions import db
from proctor_web.lti.tool import claims as c
from proctor_web.lti.tool import oidc, platform_keys, registration
from proctor_web.lti.tool.errors import LaunchRefused
from proctor_web.models import LtiLoginState, LtiNonce, LtiPlatform

#: Clock skew we tolerate between the platform and us.
LEEWAY_SECONDS = 60
#: How long a used nonce is remembered after the token's own expiry.
NONCE_MEMORY = timedelta(hours=1)


@dataclass
class Launch:
    platform: LtiPlatform
    deployment_id: str
    message_type: str
    claims: dict[str, Any]
    return_url: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])

    @property
    def roles(self) -> list[str]:
        return [r for r in self.claims.get(c.ROLES) or [] if isinstance(r, str)]


def _audiences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [a for a in value if isinstance(a, str)]
    return []


def _registration_for(unverified: dict[str, Any]) -> LtiPlatform:
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise LaunchRefused("missing_claims", _("The launch token has no issuer (iss)."))
    audiences = _audiences(unverified.get("aud"))
    if not audiences:
        raise LaunchRefused("missing_claims", _("The launch token has no audience (aud)."))
    azp = unverified.get("azp")
    if len(audiences) > 1 and not azp:
        raise LaunchRefused("missing_claims", _(
            "The launch token has several audiences but no authorized party (azp)."))
    if azp is not None and azp not in audiences:
        raise LaunchRefused("bad_azp", _(
            "The launch token's authorized party (azp) is not one of its audiences."))
    client_id = azp if azp else audiences[0]
    platform = registration.find_platform(issuer, client_id)
    if platform is None:
        if registration.platforms_of_issuer(issuer):
            raise LaunchRefused("unknown_client", _(
                "This platform (%(issuer)s) has no registration for client id "
                "%(client_id)s (the token's audience).", issuer=issuer, client_id=client_id))
        raise LaunchRefused("unknown_issuer", _(
            "No platform with issuer %(issuer)s is registered here.", issuer=issuer))
    if not platform.is_active:
        raise LaunchRefused("platform_inactive", _(
            "The registration of this platform is switched off."), status=403)
    return platform


def _verified_claims(token: str, platform: LtiPlatform) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise LaunchRefused("malformed_token", _("The launch token is not a JWT.")) from None
    if header.get("alg") != "RS256":
        raise LaunchRefused("bad_algorithm", _(
            "The launch token must be signed with RS256, not %(alg)s.",
            alg=str(header.get("alg"))))
    key = platform_keys.signing_key(platform.key_set_url, token)
    try:
        return jwt.decode(
            token, key.key, algorithms=["RS256"], audience=platform.client_id,
            issuer=platform.issuer, leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "nonce"]},
        )
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("expired_token", _(
            "The launch token has expired. Launch again from the course.")) from None
    except jwt.InvalidSignatureError:
        raise LaunchRefused("bad_signature", _(
            "The launch token's signature does not match the platform's key.")) from None
    except jwt.MissingRequiredClaimError as error:
        raise LaunchRefused("missing_claims", _(
            "The launch token lacks the %(claim)s claim.", claim=error.claim)) from None
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError):
        raise LaunchRefused("bad_iat", _(
            "The launch token was issued in the future; check the platform's clock.")) from None
    except jwt.InvalidTokenError as error:
        raise LaunchRefused("invalid_token", _(
            "The launch token is not valid: %(reason)s", reason=str(error))) from None


def _safe_return_url(claims: dict[str, Any]) -> str | None:
    presentation = claims.get(c.LAUNCH_PRESENTATION)
    if not isinstance(presentation, dict):
        return None
    url = presentation.get("return_url")
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


def _check_lti_claims(claims: dict[str, Any], platform: LtiPlatform) -> tuple[str, str]:
    deployment_id = claims.get(c.DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchRefused("missing_claims", _("The launch lacks its deployment id."))
    if deployment_id not in {d.deployment_id for d in platform.deployments}:
        raise LaunchRefused("unknown_deployment", _(
            "Deployment %(deployment_id)s of this platform is not registered here.",
            deployment_id=deployment_id))
    message_type = claims.get(c.MESSAGE_TYPE)
    if message_type not in c.MESSAGE_TYPES:
        raise LaunchRefused("unsupported_message_type", _(
            "This tool does not handle %(message_type)s messages.",
            message_type=str(message_type)))
    if claims.get(c.VERSION) != c.LTI_VERSION:
        raise LaunchRefused("bad_version", _("Only LTI version 1.3.0 launches are handled."))
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LaunchRefused("missing_claims", _(
            "The launch does not say who the user is (sub): anonymous launches are not "
            "supported."))
    if not isinstance(claims.get(c.TARGET_LINK_URI), str) or not claims[c.TARGET_LINK_URI]:
        raise LaunchRefused("missing_claims", _("The launch lacks its target link URI."))
    if not isinstance(claims.get(c.ROLES), list):
        raise LaunchRefused("missing_claims", _("The launch lacks its roles claim."))
    if message_type == c.RESOURCE_LINK_REQUEST:
        link = claims.get(c.RESOURCE_LINK)
        if not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]:
            raise LaunchRefused("missing_claims", _("The launch lacks its resource link id."))
    else:
        settings = claims.get(c.DEEP_LINKING_SETTINGS)
        if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
            raise LaunchRefused("missing_claims", _(
                "The deep linking request lacks its return URL."))
    return deployment_id, message_type


def verify_launch(id_token: str, state: str, browser_state: str | None,
                  now: datetime) -> Launch:
    """Check everything a launch must satisfy; record its nonce and use up its state.

    ``browser_state`` is the state this browser kept from the login (cookie or the
    platform's storage): it must equal ``state``.
    """
    if not id_token:
        raise LaunchRefused("missing_parameters", _("The launch carries no id_token."))
    try:
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.DecodeError:
        raise LaunchRefused("malformed_token", _("The launch token is not a JWT.")) from None
    platform = _registration_for(unverified)
    verified = _verified_claims(id_token, platform)
    return_url = _safe_return_url(verified)
    try:
        login = _check_state_and_nonce(verified, platform, state, browser_state, now)
        deployment_id, message_type = _check_lti_claims(verified, platform)
    except LaunchRefused as refusal:
        # Signed by the platform: its return URL may take the learner back.
        refusal.return_url = return_url
        raise
    expires = datetime.fromtimestamp(int(verified["exp"]), UTC) + NONCE_MEMORY
    try:
        with db.session.begin_nested():
            # Two posts of the same launch racing: the unique constraint lets one through.
            db.session.add(LtiNonce(platform_id=platform.id,
                                    nonce=str(verified["nonce"])[:255], expires_at=expires))
            db.session.delete(login)
    except IntegrityError:
        raise LaunchRefused("replayed_nonce", _(
            "This launch was already used (its nonce was seen before). Launch again from "
            "the course."), return_url=return_url) from None
    custom = verified.get(c.CUSTOM) if isinstance(verified.get(c.CUSTOM), dict) else {}
    return Launch(platform=platform, deployment_id=deployment_id, message_type=message_type,
                  claims=verified, return_url=return_url, custom=custom)


def _check_state_and_nonce(claims: dict[str, Any], platform: LtiPlatform, state: str,
                           browser_state: str | None, now: datetime) -> LtiLoginState:
    nonce = str(claims["nonce"])
    used = db.session.execute(select(LtiNonce.id).where(
        LtiNonce.platform_id == platform.id, LtiNonce.nonce == nonce[:255])).first()
    if used is not None:
        raise LaunchRefused("replayed_nonce", _(
            "This launch was already used (its nonce was seen before). Launch again from the "
            "course."))
    login = oidc.pending_login(state, now)
    if login is None or login.platform_id != platform.id:
        raise LaunchRefused("bad_state", _(
            "The launch does not answer a login started here (unknown or expired state). "
            "Launch again from the course."))
    if not browser_state or browser_state != state:
        raise LaunchRefused("bad_state", _(
            "This browser did not start the login this launch answers (state mismatch). "
            "Launch again from the course."))
    if nonce != login.nonce:
        raise LaunchRefused("bad_nonce", _(
            "The launch token's nonce is not the one our login request sent."))
    return login
