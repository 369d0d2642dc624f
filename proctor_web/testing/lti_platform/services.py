"""The platform's web services: OAuth2 token endpoint, NRPS memberships and AGS line items/scores.

Every request here first passes the injected-outage gate (``/_control/fail``), then the bearer
token check, so a test can make the next N service calls fail with 503 and watch the tool retry.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Blueprint, Response, current_app, jsonify, request

from proctor_web.testing.lti_platform.state import (
    ACTIVITY_PROGRESS,
    ALL_SCOPES,
    CLIENT_ASSERTION_TYPE,
    GRADING_PROGRESS,
    MEDIA_LINEITEM,
    MEDIA_LINEITEMS,
    MEDIA_NRPS,
    MEDIA_RESULTS,
    MEDIA_SCORE,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    PlatformError,
    PlatformState,
)

services = Blueprint("services", __name__)


def _state() -> PlatformState:
    return current_app.extensions["lti_platform"]


@services.before_request
def record_request() -> None:
    state = _state()
    with state.lock:
        state.service_requests.append({"method": request.method, "path": request.path,
                                       "at": time.time()})


def injected_outage() -> Response | None:
    """App-wide gate (see server.py): an injected outage answers before any view runs."""
    if request.path.startswith("/_control"):
        return None
    status = _state().take_failure(request.path)
    if status is not None:
        response = jsonify(detail="injected outage")
        response.status_code = status
        response.headers["Retry-After"] = "1"
        return response
    return None


@services.post("/token")
def token() -> Response:
    """client_credentials grant with a JWT client assertion (1EdTech Security Framework 4.1)."""
    state = _state()
    form = request.form
    if form.get("grant_type") != "client_credentials":
        raise PlatformError("grant_type must be client_credentials", 400, "unsupported_grant_type")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise PlatformError("client_assertion_type must be " + CLIENT_ASSERTION_TYPE, 400,
                            "invalid_client")
    assertion = form.get("client_assertion", "")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise PlatformError(f"malformed client assertion: {error}", 400,
                            "invalid_client") from error
    tool = state.tool(unverified.get("iss"))
    claims = state.verify_tool_jwt(tool, assertion, audience=state.url("/token"))
    if claims.get("sub") != tool.client_id or claims.get("iss") != tool.client_id:
        raise PlatformError("iss and sub must both be the client id", 400, "invalid_client")
    if not claims.get("jti"):
        raise PlatformError("jti is required", 400, "invalid_client")
    if not state.use_jti(str(claims["jti"]), float(claims["exp"])):
        raise PlatformError("this client assertion was already used (jti)", 400, "invalid_grant")
    requested = form.get("scope", "").split()
    granted = [scope for scope in requested if scope in ALL_SCOPES]
    if not granted:
        raise PlatformError("none of the requested scopes is available", 400, "invalid_scope")
    ttl = int(state.settings["TOKEN_TTL_SECONDS"])
    access_token = secrets.token_urlsafe(24)
    with state.lock:
        state.access_tokens[access_token] = {
            "client_id": tool.client_id, "scopes": set(granted), "expires": time.time() + ttl}
        state.tokens_issued.append({"client_id": tool.client_id, "scopes": granted,
                                    "jti": claims["jti"], "at": time.time()})
    return jsonify(access_token=access_token, token_type="Bearer", expires_in=ttl,
                   scope=" ".join(granted))


def _require_scope(*scopes: str) -> dict[str, Any]:
    state = _state()
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise PlatformError("a bearer token is required", 401, "invalid_token")
    with state.lock:
        grant = state.access_tokens.get(value.strip())
    if grant is None or grant["expires"] < time.time():
        raise PlatformError("unknown or expired access token", 401, "invalid_token")
    if not grant["scopes"] & set(scopes):
        raise PlatformError("the token lacks the scope " + " or ".join(scopes), 403,
                            "insufficient_scope")
    return grant


def _media(body: Any, media_type: str, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.mimetype = media_type
    return response


@services.get("/nrps/<context_id>/memberships")
def memberships(context_id: str) -> Response:
    _require_scope(SCOPE_NRPS)
    state = _state()
    with state.lock:
        context = dict(state.context(context_id))
    members = list(context["members"])
    if request.args.get("role"):
        wanted = request.args["role"]
        members = [m for m in members if any(r.endswith(wanted) for r in m.get("roles", []))]
    limit = int(request.args.get("limit", state.settings["NRPS_PAGE_SIZE"]))
    page = int(request.args.get("page", 1))
    start = (page - 1) * limit
    url = state.url(f"/nrps/{context_id}/memberships")
    body = {
        "id": url + ("?" + request.query_string.decode() if request.query_string else ""),
        "context": {"id": context_id, "label": context["label"], "title": context["title"]},
        "members": members[start:start + limit],
    }
    response = _media(body, MEDIA_NRPS)
    if start + limit < len(members):
        query = {**request.args.to_dict(), "page": page + 1, "limit": limit}
        response.headers["Link"] = f'<{url}?{urlencode(query)}>; rel="next"'
    return response


def _line_item(context_id: str, number: int) -> dict[str, Any]:
    item = _state().lineitems.get(number)
    if item is None or item["context_id"] != context_id:
        raise PlatformError("no such line item", 404, "not_found")
    return item


def _lineitem_values(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PlatformError("the body must be a JSON object")
    maximum = body.get("scoreMaximum")
    if not isinstance(maximum, int | float) or maximum <= 0:
        raise PlatformError("scoreMaximum must be a number above 0")
    if not body.get("label"):
        raise PlatformError("label is required")
    return {key: body.get(key) for key in (
        "label", "scoreMaximum", "resourceLinkId", "resourceId", "tag",
        "startDateTime", "endDateTime")}


@services.route("/ags/<context_id>/lineitems", methods=["GET", "POST"])
def lineitems(context_id: str) -> Response:
    state = _state()
    if request.method == "POST":
        _require_scope(SCOPE_LINEITEM)
        number = state.add_lineitem(context_id, _lineitem_values(request.get_json(silent=True)))
        return _media(state.lineitem_view(number), MEDIA_LINEITEM, 201)
    _require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    filters = {k: request.args[a] for a, k in (("resource_link_id", "resourceLinkId"),
                                              ("resource_id", "resourceId"), ("tag", "tag"))
               if a in request.args}
    with state.lock:
        found = [state.lineitem_view(n) for n, item in sorted(state.lineitems.items())
                 if item["context_id"] == context_id
                 and all(item.get(k) == v for k, v in filters.items())]
    return _media(found, MEDIA_LINEITEMS)


@services.route("/ags/<context_id>/lineitems/<int:number>", methods=["GET", "PUT", "DELETE"])
def lineitem(context_id: str, number: int) -> Response:
    state = _state()
    item = _line_item(context_id, number)
    if request.method == "GET":
        _require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
        return _media(state.lineitem_view(number), MEDIA_LINEITEM)
    _require_scope(SCOPE_LINEITEM)
    with state.lock:
        if request.method == "DELETE":
            del state.lineitems[number]
            return Response(status=204)
        item.update(_lineitem_values(request.get_json(silent=True)))
    return _media(state.lineitem_view(number), MEDIA_LINEITEM)


def _check_score(state: PlatformState, context_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PlatformError("the body must be a JSON object")
    for name in ("userId", "timestamp", "activityProgress", "gradingProgress"):
        if not body.get(name):
            raise PlatformError(f"{name} is required")
    if body["activityProgress"] not in ACTIVITY_PROGRESS:
        raise PlatformError(f"unknown activityProgress {body['activityProgress']!r}")
    if body["gradingProgress"] not in GRADING_PROGRESS:
        raise PlatformError(f"unknown gradingProgress {body['gradingProgress']!r}")
    try:
        stamp = datetime.fromisoformat(str(body["timestamp"]).replace("Z", "+00:00"))
    except ValueError as error:
        raise PlatformError("timestamp must be ISO 8601") from error
    if stamp.tzinfo is None:
        raise PlatformError("timestamp must carry a time zone")
    if "scoreGiven" in body:
        given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
        if not isinstance(maximum, int | float) or maximum <= 0:
            raise PlatformError("scoreMaximum must accompany scoreGiven and be above 0")
        if not isinstance(given, int | float) or given < 0:
            raise PlatformError("scoreGiven must be a number, at least 0")
    members = state.context(context_id)["members"]
    if members and body["userId"] not in {m.get("user_id") for m in members}:
        raise PlatformError(f"user {body['userId']!r} is not in the course", 422, "unknown_user")
    return {"stamp": stamp.timestamp()}


@services.post("/ags/<context_id>/lineitems/<int:number>/scores")
def post_score(context_id: str, number: int) -> Response:
    """Score publish service: validate, refuse out-of-order timestamps, record."""
    _require_scope(SCOPE_SCORE)
    state = _state()
    _line_item(context_id, number)
    if request.mimetype != MEDIA_SCORE:
        raise PlatformError(f"Content-Type must be {MEDIA_SCORE}", 415, "unsupported_media_type")
    body = request.get_json(force=True, silent=True)
    checked = _check_score(state, context_id, body)
    lineitem_url = state.lineitem_url(number)
    with state.lock:
        earlier = [s for s in state.scores
                   if s["lineitem"] == lineitem_url and s["userId"] == body["userId"]]
        if earlier and earlier[-1]["_stamp"] > checked["stamp"]:
            raise PlatformError("a later score is already recorded for this user", 409,
                                "conflict")
        state.scores.append({**body, "lineitem": lineitem_url, "context_id": context_id,
                             "_stamp": checked["stamp"]})
    return jsonify(resultUrl=f"{lineitem_url}/results?user_id={body['userId']}")


@services.get("/ags/<context_id>/lineitems/<int:number>/results")
def results(context_id: str, number: int) -> Response:
    _require_scope(SCOPE_RESULT_READONLY)
    state = _state()
    _line_item(context_id, number)
    lineitem_url = state.lineitem_url(number)
    latest: dict[str, dict[str, Any]] = {}
    with state.lock:
        for score in state.scores:
            if score["lineitem"] == lineitem_url:
                latest[score["userId"]] = score
    wanted = request.args.get("user_id")
    found = [
        {"id": f"{lineitem_url}/results/{user}", "scoreOf": lineitem_url, "userId": user,
         "resultScore": score.get("scoreGiven"), "resultMaximum": score.get("scoreMaximum"),
         "comment": score.get("comment")}
        for user, score in latest.items() if wanted in (None, user)
    ]
    return _media(found, MEDIA_RESULTS)
