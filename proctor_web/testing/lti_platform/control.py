"""The test-control API under ``/_control/``: register tools, set rosters, inject outages, read
what the platform recorded. Loopback callers only; no authentication (it is a test peer)."""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from proctor_web.testing.lti_platform.state import (
    DEFAULT_SETTINGS,
    NO_FAILURES,
    SERVICE_PATHS,
    PlatformError,
    PlatformState,
    Tool,
    full_role,
    new_key,
)

control = Blueprint("control", __name__, url_prefix="/_control")

MEMBER_STATUSES = ("Active", "Inactive", "Deleted")


def _state() -> PlatformState:
    return current_app.extensions["lti_platform"]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise PlatformError("the body must be a JSON object")
    return body


@control.before_request
def loopback_only() -> None:
    try:
        if not ipaddress.ip_address(request.remote_addr or "").is_loopback:
            abort(403)
    except ValueError:
        abort(403)


@control.post("/tools")
def register_tool() -> Response:
    body = _body()
    for name in ("login_url", "launch_url"):
        if not body.get(name):
            raise PlatformError(f"{name} is required")
    if not body.get("jwks_url") and not body.get("jwks"):
        raise PlatformError("jwks_url or jwks is required")
    state = _state()
    client_id = body.get("client_id") or "tool-" + secrets.token_hex(6)
    deployment_ids = body.get("deployment_ids") or [body.get("deployment_id") or "deployment-1"]
    redirect_uris = body.get("redirect_uris") or [
        uri for uri in (body["launch_url"], body.get("deep_link_url")) if uri]
    tool = Tool(
        client_id=client_id, deployment_ids=list(deployment_ids), login_url=body["login_url"],
        launch_url=body["launch_url"], deep_link_url=body.get("deep_link_url"),
        redirect_uris=list(redirect_uris), jwks_url=body.get("jwks_url"), jwks=body.get("jwks"),
        name=body.get("name", "Tool"),
    )
    with state.lock:
        state.tools[client_id] = tool
    return jsonify(tool=tool.public(), platform=platform_endpoints(state))


def platform_endpoints(state: PlatformState) -> dict[str, str]:
    """What an admin pastes into the tool: the platform's issuer and endpoints."""
    return {
        "issuer": state.issuer,
        "auth_login_url": state.url("/auth"),
        "auth_token_url": state.url("/token"),
        "key_set_url": state.url("/jwks.json"),
        "deep_link_return_url": state.url("/deep_link_return"),
    }


@control.get("/platform")
def platform() -> Response:
    return jsonify(platform_endpoints(_state()))


@control.put("/contexts/<context_id>")
def set_roster(context_id: str) -> Response:
    """Replace a context's title/label and roster (``members``: NRPS member objects)."""
    body = _body()
    members = []
    for raw in body.get("members", []):
        if not isinstance(raw, dict) or not raw.get("user_id"):
            raise PlatformError("every member needs a user_id")
        member = dict(raw)
        member["roles"] = [full_role(r) for r in member.get("roles", ["Learner"])]
        member.setdefault("status", "Active")
        if member["status"] not in MEMBER_STATUSES:
            raise PlatformError(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        members.append(member)
    state = _state()
    with state.lock:
        context = state.context(context_id)
        context.update({k: body[k] for k in ("title", "label") if k in body})
        context["members"] = members
    return jsonify(context_id=context_id, members=len(members))


@control.post("/lineitems")
def add_lineitem() -> Response:
    body = _body()
    state = _state()
    if not body.get("context_id"):
        raise PlatformError("context_id is required")
    values = {k: body.get(k) for k in ("label", "scoreMaximum", "resourceLinkId", "resourceId",
                                       "tag")}
    values["label"] = values["label"] or "Line item"
    values["scoreMaximum"] = values["scoreMaximum"] or 100
    number = state.add_lineitem(body["context_id"], values)
    return jsonify(state.lineitem_view(number))


@control.post("/fail")
def inject_failures() -> Response:
    """The next ``count`` requests to ``paths`` (path prefixes; default the web services:
    token, NRPS, AGS) answer ``status`` (default 503)."""
    body = _body()
    count, status = body.get("count", 1), body.get("status", 503)
    paths = body.get("paths", list(SERVICE_PATHS))
    if not isinstance(count, int) or count < 0 or not isinstance(status, int):
        raise PlatformError("count and status must be integers, count at least 0")
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/")
                                              for p in paths):
        raise PlatformError("paths must be a list of path prefixes starting with /")
    if any(p.startswith("/_control") for p in paths):
        raise PlatformError("the control API cannot be made to fail")
    state = _state()
    with state.lock:
        state.failures = {"count": count, "status": status, "paths": paths}
    return jsonify(state.failures)


@control.post("/config")
def configure() -> Response:
    body = _body()
    unknown = set(body) - set(DEFAULT_SETTINGS)
    if unknown:
        raise PlatformError(f"unknown settings: {', '.join(sorted(unknown))}")
    state = _state()
    with state.lock:
        state.settings.update(body)
    return jsonify(state.settings)


@control.post("/rotate_key")
def rotate_key() -> Response:
    """Sign with a new key; ``{"drop_old": true}`` also removes the old ones from the key set."""
    state = _state()
    with state.lock:
        key = new_key()
        state.keys = [key] if _body().get("drop_old") else [*state.keys, key]
    return jsonify(kid=key.kid)


@control.post("/expire_tokens")
def expire_tokens() -> Response:
    state = _state()
    with state.lock:
        for grant in state.access_tokens.values():
            grant["expires"] = 0
    return jsonify(expired=len(state.access_tokens))


@control.get("/state")
def snapshot() -> Response:
    return jsonify(_state().snapshot())


@control.get("/scores")
def scores() -> Response:
    return jsonify(_state().snapshot()["scores"])


@control.get("/deep_links")
def deep_links() -> Response:
    return jsonify(_state().snapshot()["deep_link_responses"])


@control.post("/reset")
def reset() -> Response:
    """Forget everything recorded (tools and keys stay)."""
    state = _state()
    with state.lock:
        for name in ("launches", "auth_requests", "deep_link_responses", "returns", "scores",
                     "tokens_issued", "service_requests"):
            getattr(state, name).clear()
        state.lineitems.clear()
        state.access_tokens.clear()
        state.contexts.clear()
        state.failures = dict(NO_FAILURES)
    return jsonify(ok=True)
