"""What a person's browser does on the platform: start a launch, the OIDC auth endpoint, the
course page that frames the tool, deep-linking returns and the launch return URL."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Blueprint, Response, current_app, redirect, request
from markupsafe import escape

from proctor_web.testing.lti_platform.messages import (
    DEEP_LINKING,
    id_token_claims,
    launch_spec,
)
from proctor_web.testing.lti_platform.state import (
    DL_CONTENT_ITEMS_CLAIM,
    DL_DATA_CLAIM,
    DL_MSG_CLAIM,
    DL_SETTINGS_CLAIM,
    LTI,
    PlatformError,
    PlatformState,
    new_key,
)

browser = Blueprint("browser", __name__)


def _state() -> PlatformState:
    return current_app.extensions["lti_platform"]


def _page(title: str, body: str, status: int = 200, script: str = "") -> Response:
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}"
            f"{script}</body></html>")
    return Response(html, status=status, mimetype="text/html")


def _auto_post(action: str, fields: dict[str, str], title: str) -> Response:
    inputs = "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
                     for k, v in fields.items())
    body = (f"<form id='auto' method='post' action='{escape(action)}'>{inputs}"
            "<noscript><button type='submit'>Continue</button></noscript></form>")
    return _page(title, body, script="<script>document.getElementById('auto').submit()</script>")


@browser.get("/launch")
def start_launch() -> Response:
    """Third-party initiated login: remember the launch, send the browser to the tool."""
    state = _state()
    spec = launch_spec(state, request.args.to_dict())
    tool = state.tool(spec["client_id"])
    hint = secrets.token_urlsafe(16)
    with state.lock:
        state.pending_launches[hint] = spec
    params = {
        "iss": state.issuer,
        "login_hint": spec["user_id"],
        "target_link_uri": spec["target_link_uri"],
        "lti_message_hint": hint,
        "client_id": tool.client_id,
        "lti_deployment_id": spec["deployment_id"],
    }
    if spec["storage_target"]:
        params["lti_storage_target"] = spec["storage_target"]
    if spec["post"]:
        return _auto_post(tool.login_url, params, "Opening the tool")
    separator = "&" if "?" in tool.login_url else "?"
    return redirect(tool.login_url + separator + urlencode(params))


def _check_auth_request(state: PlatformState, params: dict[str, str]) -> dict[str, Any]:
    tool = state.tool(params.get("client_id"))
    if params.get("redirect_uri") not in tool.redirect_uris:
        raise PlatformError(f"redirect_uri {params.get('redirect_uri')!r} is not registered",
                            400, "invalid_request_uri")
    expected = {"response_type": "id_token", "prompt": "none", "response_mode": "form_post"}
    for name, value in expected.items():
        if params.get(name) != value:
            raise PlatformError(f"{name} must be {value!r}", 400, "invalid_request")
    if "openid" not in params.get("scope", "").split():
        raise PlatformError("scope must include 'openid'", 400, "invalid_scope")
    for name in ("nonce", "state", "login_hint", "lti_message_hint"):
        if not params.get(name):
            raise PlatformError(f"{name} is required", 400, "invalid_request")
    with state.lock:
        spec = state.pending_launches.pop(params["lti_message_hint"], None)
    if spec is None:
        raise PlatformError("unknown or already used lti_message_hint", 400, "invalid_request")
    if spec["client_id"] != tool.client_id or spec["user_id"] != params["login_hint"]:
        raise PlatformError("login_hint or client_id does not match the launch", 400,
                            "login_required")
    return spec


@browser.route("/auth", methods=["GET", "POST"])
def authorize() -> Response:
    """OIDC authentication endpoint: validate the tool's request, POST back the id_token."""
    state = _state()
    params = {**request.args.to_dict(), **request.form.to_dict()}
    try:
        spec = _check_auth_request(state, params)
    except PlatformError as error:
        with state.lock:
            state.auth_requests.append({"params": params, "error": error.detail})
        return _page("Launch refused by the platform",
                     f"<p id='error'>{escape(error.error)}: {escape(error.detail)}</p>", 400)
    tool = state.tool(spec["client_id"])
    claims = id_token_claims(state, tool, spec, params["nonce"])
    key = new_key() if spec["sign_with"] == "unknown" else None
    id_token = state.sign(claims, key)
    with state.lock:
        state.auth_requests.append({"params": params, "error": None})
        state.launches.append({
            "spec": spec, "claims": claims, "id_token": id_token, "state": params["state"],
            "redirect_uri": params["redirect_uri"], "at": time.time(),
        })
    return _auto_post(params["redirect_uri"], {"id_token": id_token, "state": params["state"]},
                      "Launching the tool")


COURSE_SCRIPT = """
<script>
(function () {
  const frame = document.getElementById('tool-frame');
  const log = document.getElementById('messages');
  const store = {};
  function answer(event, subject, extra) {
    event.source.postMessage(Object.assign(
      {subject: subject, message_id: event.data.message_id}, extra), event.origin);
  }
  window.addEventListener('message', function (event) {
    const data = event.data || {};
    const item = document.createElement('li');
    item.textContent = JSON.stringify(data);
    log.appendChild(item);
    const bucket = store[event.origin] = store[event.origin] || {};
    if (data.subject === 'lti.frameResize' && data.height) {
      if (frame.dataset.resize !== 'no') frame.style.height = data.height + 'px';
    } else if (data.subject === 'lti.capabilities') {
      answer(event, 'lti.capabilities.response', {supported_messages: [
        {subject: 'lti.capabilities'}, {subject: 'lti.put_data'}, {subject: 'lti.get_data'},
        {subject: 'lti.frameResize'}]});
    } else if (data.subject === 'lti.put_data') {
      bucket[data.key] = data.value;
      answer(event, 'lti.put_data.response', {key: data.key, value: data.value});
    } else if (data.subject === 'lti.get_data') {
      answer(event, 'lti.get_data.response', {key: data.key, value: bucket[data.key]});
    }
  });
})();
</script>
"""


@browser.get("/course/<context_id>")
def course_page(context_id: str) -> Response:
    """An LMS course page that frames a launch (query: the same keys as ``/launch``, and
    ``resize=no`` for a frame that keeps its height whatever lti.frameResize says)."""
    state = _state()
    context = state.context(context_id)
    query = {**request.args.to_dict(), "context_id": context_id}
    resize = "no" if query.pop("resize", "") == "no" else "yes"
    src = state.url("/launch?" + urlencode(query))
    body = (f"<p>LMS course page for <span id='course-title'>{escape(context['title'])}</span></p>"
            f"<iframe id='tool-frame' name='tool-frame' title='Tool' src='{escape(src)}' "
            f"data-resize='{resize}' "
            "style='width:100%;height:600px;border:1px solid #999' "
            "allow='camera; microphone; fullscreen; display-capture'></iframe>"
            "<h2>Messages from the tool</h2><ul id='messages'></ul>")
    return _page("LMS course page", body, script=COURSE_SCRIPT)


@browser.post("/deep_link_return")
def deep_link_return() -> Response:
    """Receive an LtiDeepLinkingResponse: verify it against the tool's keys, record the items."""
    state = _state()
    token = request.form.get("JWT", "")
    try:
        claims = _verify_deep_link_response(state, token)
    except PlatformError as error:
        with state.lock:
            state.deep_link_responses.append({"error": error.detail, "content_items": []})
        return _page("Deep linking refused", f"<p id='error'>{escape(error.detail)}</p>", 400)
    items = claims.get(DL_CONTENT_ITEMS_CLAIM, [])
    recorded = []
    for item in items:
        item = dict(item)
        if item.get("type") == "ltiResourceLink":
            item["resource_link_id"] = "dl-" + secrets.token_hex(6)
            line_item = item.get("lineItem")
            if isinstance(line_item, dict):
                number = state.add_lineitem(claims["_context_id"], {
                    "label": line_item.get("label") or item.get("title", ""),
                    "scoreMaximum": line_item.get("scoreMaximum", 100),
                    "resourceId": line_item.get("resourceId"),
                    "tag": line_item.get("tag"),
                    "resourceLinkId": item["resource_link_id"],
                })
                item["lineitem_url"] = state.lineitem_url(number)
        recorded.append(item)
    with state.lock:
        state.deep_link_responses.append({
            "error": None, "client_id": claims["iss"], "content_items": recorded,
            "msg": claims.get(DL_MSG_CLAIM), "data": claims.get(DL_DATA_CLAIM),
            "context_id": claims["_context_id"],
        })
    listing = "".join(f"<li>{escape(i.get('title', i.get('type', '')))}</li>" for i in recorded)
    return _page("Content added to the course", f"<ul id='content-items'>{listing}</ul>")


def _verify_deep_link_response(state: PlatformState, token: str) -> dict[str, Any]:
    if not token:
        raise PlatformError("the JWT form field is missing")
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as error:
        raise PlatformError(f"malformed JWT: {error}") from error
    tool = state.tool(issuer)
    claims = state.verify_tool_jwt(tool, token, audience=state.issuer)
    if claims.get(LTI + "message_type") != "LtiDeepLinkingResponse":
        raise PlatformError("message_type must be LtiDeepLinkingResponse")
    if claims.get(LTI + "version") != "1.3.0":
        raise PlatformError("version must be 1.3.0")
    if claims.get(LTI + "deployment_id") not in tool.deployment_ids:
        raise PlatformError("unknown deployment_id")
    if not claims.get("nonce"):
        raise PlatformError("nonce is required")
    with state.lock:
        request_launch = next(
            (launch for launch in reversed(state.launches)
             if launch["spec"]["message_type"] == DEEP_LINKING
             and launch["spec"]["dl_data"] == claims.get(DL_DATA_CLAIM)), None)
    if request_launch is None:
        raise PlatformError("the data claim does not echo a deep-linking request")
    items = claims.get(DL_CONTENT_ITEMS_CLAIM, [])
    if not isinstance(items, list):
        raise PlatformError("content_items must be a list")
    settings = request_launch["claims"][DL_SETTINGS_CLAIM]
    if len(items) > 1 and not settings["accept_multiple"]:
        raise PlatformError("only one content item was asked for (accept_multiple is false)")
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in settings["accept_types"]:
            raise PlatformError(f"content item type not accepted: {item!r:.80}")
    claims["_context_id"] = request_launch["spec"]["context_id"]
    return claims


@browser.get("/return")
def launch_return() -> Response:
    """``launch_presentation.return_url``: show and record what the tool said."""
    state = _state()
    fields = {k: v for k, v in request.args.items()
              if k in ("lti_msg", "lti_errormsg", "lti_log", "lti_errorlog")}
    with state.lock:
        state.returns.append(fields)
    shown = "".join(f"<p id='{escape(k)}'>{escape(v)}</p>" for k, v in fields.items())
    return _page("Back in the LMS", shown or "<p>Returned from the tool.</p>")


@browser.get("/jwks.json")
def key_set() -> Response:
    return Response(json.dumps(_state().public_key_set()), mimetype="application/json")
