"""The independent platform's memory: its keys, registered tools, rosters, line items, scores.

Everything lives in one ``PlatformState`` behind one lock, so a test can start a fresh platform
without touching disk. Nothing here knows HTTP except the fetch of a tool's key set.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_CONTENT_ITEMS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_MSG_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
ALL_SCOPES = frozenset((*AGS_SCOPES, SCOPE_NRPS))

MEDIA_NRPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

ROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ACTIVITY_PROGRESS = frozenset({"Initialized", "Started", "InProgress", "Submitted", "Completed"})
GRADING_PROGRESS = frozenset({"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"})

#: Injected outages hit the web services unless a test names other paths (e.g. /jwks.json).
SERVICE_PATHS = ("/token", "/nrps/", "/ags/")
NO_FAILURES: dict[str, Any] = {"count": 0, "status": 503, "paths": list(SERVICE_PATHS)}

DEFAULT_SETTINGS: dict[str, Any] = {
    "TOKEN_TTL_SECONDS": 3600,
    "ID_TOKEN_TTL_SECONDS": 300,
    "NRPS_PAGE_SIZE": 50,
    "JWKS_CACHE_SECONDS": 300,
}


def full_role(role: str) -> str:
    """``Instructor`` -> the LIS v2 membership URI; full URIs pass through unchanged."""
    return role if ":" in role else ROLE_PREFIX + role


class PlatformError(Exception):
    """A request the platform refuses: ``status`` and an OAuth-style ``error`` code."""

    def __init__(self, detail: str, status: int = 400, error: str = "invalid_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.error = error


@dataclass
class Tool:
    client_id: str
    deployment_ids: list[str]
    login_url: str
    launch_url: str
    deep_link_url: str | None
    redirect_uris: list[str]
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    name: str = "Tool"

    def public(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "deployment_ids": list(self.deployment_ids),
            "deployment_id": self.deployment_ids[0],
            "login_url": self.login_url,
            "launch_url": self.launch_url,
            "deep_link_url": self.deep_link_url,
            "redirect_uris": list(self.redirect_uris),
            "jwks_url": self.jwks_url,
            "name": self.name,
        }


@dataclass
class PlatformKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk


def new_key() -> PlatformKey:
    return PlatformKey(
        kid="platform-" + secrets.token_hex(8),
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass
class PlatformState:
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    lock: threading.RLock = field(default_factory=threading.RLock)
    base_url: str = ""
    keys: list[PlatformKey] = field(default_factory=lambda: [new_key()])
    tools: dict[str, Tool] = field(default_factory=dict)
    # lti_message_hint -> the launch the platform's user asked for (see browser.py).
    pending_launches: dict[str, dict[str, Any]] = field(default_factory=dict)
    launches: list[dict[str, Any]] = field(default_factory=list)
    auth_requests: list[dict[str, Any]] = field(default_factory=list)
    deep_link_responses: list[dict[str, Any]] = field(default_factory=list)
    # What tools sent back to launch_presentation.return_url (lti_msg, lti_errormsg ...).
    returns: list[dict[str, Any]] = field(default_factory=list)
    # context id -> {"title", "label", "members": [...]}
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # line item number -> line item dict (with "context_id")
    lineitems: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_lineitem: int = 1
    scores: list[dict[str, Any]] = field(default_factory=list)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens_issued: list[dict[str, Any]] = field(default_factory=list)
    used_jtis: dict[str, float] = field(default_factory=dict)
    service_requests: list[dict[str, Any]] = field(default_factory=list)
    # Injected outages: the next ``count`` service requests answer ``status``.
    failures: dict[str, Any] = field(default_factory=lambda: dict(NO_FAILURES))
    storage: dict[str, dict[str, str]] = field(default_factory=dict)
    jwks_cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def signing_key(self) -> PlatformKey:
        return self.keys[-1]

    def public_key_set(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}

    def sign(self, claims: dict[str, Any], key: PlatformKey | None = None) -> str:
        key = key or self.signing_key
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def tool(self, client_id: str | None) -> Tool:
        tool = self.tools.get(client_id or "")
        if tool is None:
            raise PlatformError(f"unknown client_id {client_id!r}", 400, "invalid_client")
        return tool

    def context(self, context_id: str) -> dict[str, Any]:
        return self.contexts.setdefault(
            context_id, {"title": f"Course {context_id}", "label": context_id, "members": []}
        )

    def take_failure(self, path: str) -> int | None:
        """The status to answer instead of serving ``path``, while an injected outage lasts."""
        with self.lock:
            if self.failures["count"] > 0 and path.startswith(tuple(self.failures["paths"])):
                self.failures["count"] -= 1
                return int(self.failures["status"])
        return None

    def use_jti(self, jti: str, expires: float) -> bool:
        """Remember a client-assertion id until it expires; False when already seen."""
        now = time.time()
        with self.lock:
            for old in [j for j, exp in self.used_jtis.items() if exp < now - 60]:
                del self.used_jtis[old]
            if jti in self.used_jtis:
                return False
            self.used_jtis[jti] = expires
            return True

    def tool_key_set(self, tool: Tool, refresh: bool = False) -> dict[str, Any]:
        if tool.jwks is not None:
            return tool.jwks
        assert tool.jwks_url
        cached = self.jwks_cache.get(tool.jwks_url)
        if cached and not refresh and cached[0] > time.time():
            return cached[1]
        try:
            response = requests.get(tool.jwks_url, timeout=10)
            response.raise_for_status()
            key_set = response.json()
        except (requests.RequestException, ValueError) as error:
            raise PlatformError(f"cannot fetch the tool's key set: {error}", 400,
                                "invalid_client") from error
        self.jwks_cache[tool.jwks_url] = (
            time.time() + float(self.settings["JWKS_CACHE_SECONDS"]), key_set)
        return key_set

    def verify_tool_jwt(self, tool: Tool, token: str, audience: str | list[str]) -> dict[str, Any]:
        """Decode a JWT the tool signed: RS256, a known ``kid``, exp/iat, audience."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise PlatformError(f"malformed JWT: {error}", 400, "invalid_client") from error
        if header.get("alg") != "RS256":
            raise PlatformError("the JWT must be signed with RS256", 400, "invalid_client")
        key = self._tool_jwk(tool, header.get("kid"))
        try:
            return jwt.decode(
                token, key, algorithms=["RS256"], audience=audience,
                options={"require": ["exp", "iat", "iss", "aud"]}, leeway=5,
            )
        except jwt.PyJWTError as error:
            raise PlatformError(f"JWT rejected: {error}", 400, "invalid_client") from error

    def _tool_jwk(self, tool: Tool, kid: str | None) -> Any:
        for refresh in (False, True):
            for jwk in self.tool_key_set(tool, refresh=refresh).get("keys", []):
                if kid is None or jwk.get("kid") == kid:
                    return RSAAlgorithm.from_jwk(jwk)
            if tool.jwks is not None:
                break
        raise PlatformError(f"no key {kid!r} in the tool's key set", 400, "invalid_client")

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "issuer": self.issuer,
                "tools": [tool.public() for tool in self.tools.values()],
                "launches": list(self.launches),
                "auth_requests": list(self.auth_requests),
                "deep_link_responses": list(self.deep_link_responses),
                "returns": list(self.returns),
                "lineitems": [self.lineitem_view(n) for n in sorted(self.lineitems)],
                "scores": [{k: v for k, v in score.items() if not k.startswith("_")}
                           for score in self.scores],
                "tokens_issued": list(self.tokens_issued),
                "service_requests": list(self.service_requests),
                "contexts": {k: dict(v) for k, v in self.contexts.items()},
                "failures": dict(self.failures),
                "settings": dict(self.settings),
            }

    def lineitem_url(self, number: int) -> str:
        item = self.lineitems[number]
        return self.url(f"/ags/{item['context_id']}/lineitems/{number}")

    def lineitem_view(self, number: int) -> dict[str, Any]:
        item = self.lineitems[number]
        view = {"id": self.lineitem_url(number)}
        view.update({k: v for k, v in item.items() if k != "context_id" and v is not None})
        return view

    def add_lineitem(self, context_id: str, values: dict[str, Any]) -> int:
        with self.lock:
            number = self.next_lineitem
            self.next_lineitem += 1
            self.lineitems[number] = {"context_id": context_id, **values}
            return number
