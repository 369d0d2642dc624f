"""An independent LTI 1.3 Advantage platform (a stand-in for Canvas or Moodle) for tests and demos.

It is written on PyJWT and ``cryptography`` alone and imports none of proctor_web's own LTI
code, so a test against it checks proctor_web against the specification, not against itself.
It keeps everything in memory and serves real HTTP on a loopback address.

Start it
    In a test: ``with serve_platform() as platform: ...`` (``platform.url`` is its base URL and
    issuer, ``platform.state`` its ``PlatformState``). From a shell (the demo LMS):
    ``python -m proctor_web.testing.lti_platform --port 11137 --tool-url http://localhost:5000``
    prints ``LTI test platform listening on <url>`` and registers proctor_web as a tool
    (client id ``proctor-web-demo``, deployment ``demo-deployment``).

Endpoints a tool is configured with (``GET /_control/platform`` returns them)
    issuer ``<url>``; OIDC auth ``<url>/auth``; token ``<url>/token``; key set
    ``<url>/jwks.json``; deep-linking return ``<url>/deep_link_return``.

Test control (JSON; ``/_control/`` answers loopback callers only)
    ``POST /_control/tools`` register a tool: ``login_url``, ``launch_url``, ``jwks_url`` (or an
        inline ``jwks``), optional ``deep_link_url``, ``client_id`` (generated when absent),
        ``deployment_id``/``deployment_ids``, ``redirect_uris`` (default: launch and deep-link
        URLs). Answers ``{"tool": {...}, "platform": {issuer, auth_login_url, ...}}``.
    ``PUT /_control/contexts/<context_id>`` ``{"title", "label", "members": [...]}`` sets a
        course and its roster; a member is an NRPS member: ``user_id`` (required), ``roles``
        (short ``Learner``/``Instructor``... or full URIs), ``status`` (Active, Inactive,
        Deleted), ``name``, ``given_name``, ``family_name``, ``email``.
    ``POST /_control/lineitems`` ``{"context_id", "label", "scoreMaximum", "resourceLinkId"}``.
    ``POST /_control/fail`` ``{"count": N, "status": 503, "paths": [...]}``: the next N
        requests whose path starts with one of ``paths`` (default the web services: ``/token``,
        ``/nrps/``, ``/ags/``; ``["/jwks.json"]`` makes the key set fail) answer that status,
        with ``Retry-After``.
    ``POST /_control/config`` ``TOKEN_TTL_SECONDS``, ``ID_TOKEN_TTL_SECONDS``,
        ``NRPS_PAGE_SIZE``, ``JWKS_CACHE_SECONDS``.
    ``POST /_control/rotate_key`` (``{"drop_old": true}`` to drop old keys from the key set),
    ``POST /_control/expire_tokens``, ``POST /_control/reset``.
    ``GET /_control/state`` everything recorded: ``launches`` (spec, claims, id_token, state,
        redirect_uri), ``auth_requests`` (with ``error`` when refused), ``deep_link_responses``
        (``content_items``, each ``ltiResourceLink`` given a ``resource_link_id`` and, with a
        ``lineItem``, a ``lineitem_url``), ``returns`` (what reached the return URL),
        ``lineitems``, ``scores``, ``tokens_issued``, ``service_requests``.
    ``GET /_control/scores``, ``GET /_control/deep_links``: the recorded scores / deep links.

Launching (what a person does in the LMS)
    ``GET /launch?<query>`` starts the OIDC third-party login: it redirects (or, with
    ``post=1``, auto-POSTs) to the tool's login URL with ``iss``, ``login_hint``,
    ``target_link_uri``, ``lti_message_hint``, ``client_id``, ``lti_deployment_id`` and, with
    ``storage_target=_parent``, ``lti_storage_target``. ``GET /course/<context_id>?<query>``
    is the "LMS course page": it frames that launch in ``<iframe id="tool-frame">``, resizes the
    frame on ``lti.frameResize``, answers the LTI client-side storage messages
    (``lti.capabilities``, ``lti.put_data``, ``lti.get_data``) and lists every message received
    in ``<ul id="messages">``. Query keys (all optional): ``client_id`` (default: the only
    tool), ``deployment_id``, ``message_type`` (``LtiResourceLinkRequest`` or
    ``LtiDeepLinkingRequest``), ``user_id`` (the ``sub``; default ``learner-1``), ``name``,
    ``given_name``, ``family_name``, ``email`` (default: from the roster), ``roles``
    (comma-separated, default ``Learner``), ``context_id`` (default ``course-1``),
    ``context_title``, ``context_label``, ``resource_link_id`` (default ``rl-1``),
    ``resource_link_title``, ``custom_<name>=<value>``, ``target_link_uri``, ``return_url``,
    ``lineitem=1`` (the resource link gets a line item, announced in the AGS claim),
    ``ags=0`` / ``nrps=0`` (leave those claims out), and for refused-launch tests
    ``expires_in`` (seconds; negative = expired), ``omit`` (comma-separated claim names, short
    LTI names allowed), ``override_json`` (claims to set), ``sign_with=unknown`` (a key not in
    the key set).
    ``/auth`` (GET or POST) checks the tool's authentication request: registered ``client_id``
    and ``redirect_uri``, ``response_type=id_token``, ``response_mode=form_post``,
    ``scope`` with ``openid``, ``prompt=none``, ``nonce``, ``state``, ``login_hint`` and a
    single-use ``lti_message_hint``; refusals answer 400 with ``<p id="error">``. Then it
    auto-POSTs ``id_token`` and ``state`` to the redirect URI. The id_token (RS256, ``kid`` in
    ``/jwks.json``) has iss/aud/azp/sub/iat/exp/nonce, message_type, version, deployment_id,
    target_link_uri, resource_link (or deep_linking_settings), roles, context, custom,
    launch_presentation (iframe, ``return_url`` = ``<url>/return``), tool_platform, the AGS
    endpoint claim (scopes, ``lineitems``, ``lineitem``), the NRPS claim and, when asked,
    lti_storage_target.
    ``POST /deep_link_return`` (form field ``JWT``) verifies an LtiDeepLinkingResponse against
    the tool's key set (iss = client id, aud = issuer, deployment, nonce, ``data`` echoed).
    ``GET /return`` records ``lti_msg``/``lti_errormsg``/``lti_log``/``lti_errorlog``.

Web services (bearer tokens from ``/token``)
    ``POST /token``: ``grant_type=client_credentials``, ``client_assertion_type=
    urn:ietf:params:oauth:client-assertion-type:jwt-bearer``, ``client_assertion`` (RS256, kid
    in the tool's key set, iss = sub = client id, aud = the token URL, exp, iat, single-use
    jti), ``scope``: the requested scopes the platform knows are granted; errors are OAuth
    JSON (``error``, ``error_description``) with 400.
    ``GET /nrps/<context_id>/memberships`` (scope contextmembership.readonly;
    ``application/vnd.ims.lti-nrps.v2.membershipcontainer+json``; ``limit``, ``role``; pages
    linked with ``Link: <...>; rel="next"``).
    ``GET|POST /ags/<context_id>/lineitems`` (filters ``resource_link_id``, ``resource_id``,
    ``tag``), ``GET|PUT|DELETE /ags/<context_id>/lineitems/<n>``,
    ``POST /ags/<context_id>/lineitems/<n>/scores`` (``application/vnd.ims.lis.v1.score+json``;
    checks userId (a roster member when a roster is set: else 422), timestamp, activity and
    grading progress, scoreGiven/scoreMaximum; a score older than the last one recorded for
    that user answers 409), ``GET .../results``.
"""

from proctor_web.testing.lti_platform.server import (
    BackgroundPlatform,
    create_platform,
    platform_state,
    serve_platform,
)
from proctor_web.testing.lti_platform.state import PlatformState

__all__ = [
    "BackgroundPlatform",
    "PlatformState",
    "create_platform",
    "platform_state",
    "serve_platform",
]
