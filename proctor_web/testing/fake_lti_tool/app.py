"""The fake LTI proctoring tool's Flask app and state (see the package docstring)."""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, abort, jsonify, redirect, request
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
ACS_SCOPE = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
ACS_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ToolState:
    """Everything the tool remembers; one lock because the server is threaded."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.lock = threading.Lock()
        self.client_id: str = settings.get("CLIENT_ID", "fake-lti-tool")
        self.deployment_id: str = settings.get("DEPLOYMENT_ID", "fake-deployment-1")
        self.auto_start: bool = bool(settings.get("AUTO_START"))
        self.end_assessment_return: bool = bool(settings.get("END_ASSESSMENT_RETURN", True))
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.configure(settings.get("PLATFORM_URL") or "")
        self.reset()

    def configure(self, platform_url: str, issuer: str | None = None) -> None:
        base = platform_url.rstrip("/")
        self.platform_issuer = (issuer or base).rstrip("/")
        self.auth_url = f"{base}/lti/platform/auth"
        self.token_url = f"{base}/lti/platform/token"
        self.jwks_url = f"{base}/lti/jwks.json"

    def reset(self) -> None:
        self.pending: dict[str, str] = {}  # state -> nonce
        self.launches: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self.acs_calls: list[dict[str, Any]] = []

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.pop("key_ops", None)  # RFC 7517: "use" and "key_ops" should not appear together
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def _state(app: Flask) -> ToolState:
    return app.extensions["fake_lti_tool"]


def _page(title: str, body: str, script: str = "") -> Response:
    text = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1>{body}{script}</body></html>")
    return Response(text, mimetype="text/html")


def _refuse(state: ToolState, message: str) -> Response:
    with state.lock:
        state.refusals.append(message)
    response = _page("Launch refused", f"<p id='refusal'>{html.escape(message)}</p>")
    response.status_code = 400
    return response


def verify_platform_token(state: ToolState, token: str, nonce: str) -> dict[str, Any]:
    """Check an id_token from the platform against its published key set."""
    kid = jwt.get_unverified_header(token).get("kid")
    key_set = requests.get(state.jwks_url, timeout=10).json()
    jwk = next((k for k in key_set.get("keys", []) if k.get("kid") == kid), None)
    if jwk is None:
        raise ValueError(f"kid {kid!r} is not in the platform's key set")
    claims = jwt.decode(token, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"],
                        audience=state.client_id, issuer=state.platform_issuer,
                        options={"require": ["exp", "iat", "sub", "nonce"]})
    if claims.get("nonce") != nonce:
        raise ValueError("nonce does not match the login")
    if claims.get(LTI + "version") != "1.3.0":
        raise ValueError("version is not 1.3.0")
    if claims.get(LTI + "deployment_id") != state.deployment_id:
        raise ValueError("deployment_id is not ours")
    for name in (LTI + "resource_link", AP + "attempt_number", AP + "session_data"):
        if name not in claims:
            raise ValueError(f"missing claim {name}")
    message_type = claims.get(LTI + "message_type")
    if message_type == "LtiStartProctoring" and AP + "start_assessment_url" not in claims:
        raise ValueError("LtiStartProctoring without start_assessment_url")
    if message_type not in ("LtiStartProctoring", "LtiEndAssessment"):
        raise ValueError(f"unexpected message_type {message_type!r}")
    return claims


def start_assessment_claims(state: ToolState, launch: Mapping[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": state.client_id,
        "aud": state.platform_issuer,
        "sub": launch["sub"],
        "iat": now,
        "exp": now + 300,
        "nonce": secrets.token_urlsafe(16),
        LTI + "message_type": "LtiStartAssessment",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": state.deployment_id,
        AP + "session_data": launch[AP + "session_data"],
        LTI + "resource_link": {"id": launch[LTI + "resource_link"]["id"]},
        AP + "attempt_number": launch[AP + "attempt_number"],
        AP + "end_assessment_return": state.end_assessment_return,
        AP + "verified_user": {"given_name": "Verified", "family_name": "Learner"},
    }
    return claims


def create_fake_lti_tool(settings: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.extensions["fake_lti_tool"] = ToolState(dict(settings or {}))

    @app.before_request
    def loopback_only() -> None:
        if request.remote_addr not in ("127.0.0.1", "::1"):
            abort(403)

    @app.get("/jwks.json")
    def jwks() -> Response:
        return jsonify({"keys": [_state(app).public_jwk()]})

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        state = _state(app)
        params = request.values
        if params.get("iss", "").rstrip("/") != state.platform_issuer:
            return _refuse(state, f"unknown issuer {params.get('iss')!r}")
        if params.get("client_id") not in (None, state.client_id):
            return _refuse(state, "client_id is not ours")
        if not params.get("login_hint"):
            return _refuse(state, "login_hint missing")
        oidc_state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        with state.lock:
            state.pending[oidc_state] = nonce
        query = {
            "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
            "prompt": "none", "client_id": state.client_id,
            "redirect_uri": request.host_url.rstrip("/") + "/launch",
            "login_hint": params["login_hint"], "state": oidc_state, "nonce": nonce,
        }
        if params.get("lti_message_hint"):
            query["lti_message_hint"] = params["lti_message_hint"]
        return redirect(f"{state.auth_url}?{urlencode(query)}", code=302)

    @app.post("/launch")
    def launch() -> Response:
        state = _state(app)
        with state.lock:
            nonce = state.pending.pop(request.form.get("state", ""), None)
        if nonce is None:
            return _refuse(state, "unknown or used state")
        try:
            claims = verify_platform_token(state, request.form.get("id_token", ""), nonce)
        except (jwt.PyJWTError, ValueError, requests.RequestException) as error:
            return _refuse(state, f"id_token refused: {error}")
        if claims[LTI + "message_type"] == "LtiEndAssessment":
            with state.lock:
                state.ends.append(claims)
            back = claims.get(LTI + "launch_presentation", {}).get("return_url", "")
            link = f"<p><a id='back' href='{html.escape(back)}'>Back to the exam</a></p>"
            return _page("Proctoring session closed",
                         "<p id='ended'>The platform told us the assessment ended.</p>"
                         + (link if back else ""))
        with state.lock:
            state.launches.append(claims)
        token = state.sign(start_assessment_claims(state, claims))
        action = html.escape(claims[AP + "start_assessment_url"])
        body = (
            "<p>System check: camera, microphone and identity all fine.</p>"
            f"<form method='post' action='{action}' id='start-assessment'>"
            f"<input type='hidden' name='JWT' value='{html.escape(token)}'>"
            "<button type='submit'>Start the assessment</button></form>"
        )
        script = ("<script>document.getElementById('start-assessment').submit();</script>"
                  if state.auto_start else "")
        return _page("Fake proctoring: system check", body, script)

    # Control endpoints, for tests -----------------------------------------------------------

    @app.get("/_control/state")
    def control_state() -> Response:
        state = _state(app)
        with state.lock:
            return jsonify({"launches": state.launches, "ends": state.ends,
                            "refusals": state.refusals, "acs_calls": state.acs_calls,
                            "client_id": state.client_id, "jwks": {"keys": [state.public_jwk()]}})

    @app.post("/_control/reset")
    def control_reset() -> Response:
        state = _state(app)
        with state.lock:
            state.reset()
        return jsonify({"ok": True})

    @app.post("/_control/configure")
    def control_configure() -> Response:
        state = _state(app)
        body = request.get_json(force=True) or {}
        with state.lock:
            state.configure(body.get("platform_url", ""), body.get("platform_issuer"))
            if "auto_start" in body:
                state.auto_start = bool(body["auto_start"])
            if "end_assessment_return" in body:
                state.end_assessment_return = bool(body["end_assessment_return"])
        return jsonify({"ok": True})

    @app.post("/_control/sign")
    def control_sign() -> Response:
        """Sign any claims with the tool's key (tests build bad messages with it)."""
        return jsonify({"jwt": _state(app).sign(request.get_json(force=True) or {})})

    @app.post("/_control/acs")
    def control_acs() -> Response:
        """Send one ACS control about a launch (default: the latest) and report the answer."""
        state = _state(app)
        body = request.get_json(force=True) or {}
        with state.lock:
            if not state.launches:
                return jsonify({"detail": "no launch yet"}), 409
            launch = state.launches[body.pop("launch", -1)]
        answer = send_control(state, launch, body)
        with state.lock:
            state.acs_calls.append(answer)
        return jsonify(answer)

    return app


def client_assertion(state: ToolState) -> str:
    now = int(time.time())
    return state.sign({"iss": state.client_id, "sub": state.client_id, "aud": state.token_url,
                       "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())})


def send_control(state: ToolState, launch: Mapping[str, Any],
                 fields: Mapping[str, Any]) -> dict[str, Any]:
    """Token from the platform, then the control; returns both statuses and bodies."""
    token_response = requests.post(state.token_url, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(state), "scope": ACS_SCOPE,
    }, timeout=10)
    if token_response.status_code != 200:
        return {"token_status": token_response.status_code, "token_body": token_response.json()}
    access_token = token_response.json()["access_token"]
    control = {
        "user": {"sub": launch["sub"]},
        "resource_link": {"id": launch[LTI + "resource_link"]["id"]},
        "attempt_number": launch[AP + "attempt_number"],
        "incident_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **fields,
    }
    acs_url = launch[AP + "acs"]["assessment_control_url"]
    response = requests.post(acs_url, data=json.dumps(control), timeout=10, headers={
        "Authorization": f"Bearer {access_token}", "Content-Type": ACS_MEDIA_TYPE,
    })
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    return {"token_status": 200, "status_code": response.status_code, "body": answer,
            "content_type": response.headers.get("Content-Type", "")}
