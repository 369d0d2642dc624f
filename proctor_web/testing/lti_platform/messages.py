"""The id_tokens the platform signs: LtiResourceLinkRequest and LtiDeepLinkingRequest.

A *launch spec* is a plain dict built from the query of ``/launch`` (see the package
docstring for its keys). ``id_token_claims`` turns it into the claims of the id_token, with the
negative-test knobs (expired, claims omitted or overridden) applied last.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from proctor_web.testing.lti_platform.state import (
    AGS_ENDPOINT_CLAIM,
    AGS_SCOPES,
    DL_SETTINGS_CLAIM,
    LTI,
    NRPS_CLAIM,
    PlatformError,
    PlatformState,
    Tool,
    full_role,
)

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"

SPEC_FLAGS = ("lineitem", "ags", "nrps", "post")


def launch_spec(state: PlatformState, params: dict[str, str]) -> dict[str, Any]:
    """Normalise the query of ``/launch`` into a launch spec (defaults filled in)."""
    tools = list(state.tools.values())
    client_id = params.get("client_id") or (tools[0].client_id if len(tools) == 1 else None)
    tool = state.tool(client_id)
    message_type = params.get("message_type", RESOURCE_LINK)
    if message_type not in (RESOURCE_LINK, DEEP_LINKING):
        raise PlatformError(f"unsupported message_type {message_type!r}")
    context_id = params.get("context_id", "course-1")
    user_id = params.get("user_id", "learner-1")
    member = next((m for m in state.context(context_id)["members"]
                   if m.get("user_id") == user_id), {})
    default_target = tool.deep_link_url if message_type == DEEP_LINKING else tool.launch_url
    spec: dict[str, Any] = {
        "client_id": tool.client_id,
        "deployment_id": params.get("deployment_id", tool.deployment_ids[0]),
        "message_type": message_type,
        "user_id": user_id,
        "roles": [full_role(r) for r in params.get("roles", "Learner").split(",") if r],
        "context_id": context_id,
        "context_title": params.get("context_title"),
        "context_label": params.get("context_label"),
        "resource_link_id": params.get("resource_link_id", "rl-1"),
        "resource_link_title": params.get("resource_link_title", "Proctored exam"),
        "target_link_uri": params.get("target_link_uri") or default_target or tool.launch_url,
        "return_url": params.get("return_url") or state.url("/return"),
        "storage_target": params.get("storage_target") or None,
        "custom": {k[len("custom_"):]: v for k, v in params.items() if k.startswith("custom_")},
        "expires_in": int(params.get("expires_in", state.settings["ID_TOKEN_TTL_SECONDS"])),
        "omit": [c for c in params.get("omit", "").split(",") if c],
        "override": json.loads(params.get("override_json", "{}") or "{}"),
        "sign_with": params.get("sign_with", "platform"),
        "lineitem_max": float(params.get("lineitem_max", 100)),
        "dl_data": params.get("dl_data") or secrets.token_urlsafe(8),
    }
    for person_claim in ("name", "given_name", "family_name", "email"):
        value = params.get(person_claim, member.get(person_claim))
        if value:
            spec[person_claim] = value
    for flag in SPEC_FLAGS:
        default = "1" if flag in ("ags", "nrps") else "0"
        spec[flag] = params.get(flag, default) not in ("0", "false", "")
    return spec


def _resource_link_lineitem(state: PlatformState, spec: dict[str, Any]) -> str:
    """The line item the platform keeps for this resource link, created on first launch."""
    with state.lock:
        for number, item in state.lineitems.items():
            if (item["context_id"] == spec["context_id"]
                    and item.get("resourceLinkId") == spec["resource_link_id"]):
                return state.lineitem_url(number)
        number = state.add_lineitem(spec["context_id"], {
            "label": spec["resource_link_title"],
            "scoreMaximum": spec["lineitem_max"],
            "resourceLinkId": spec["resource_link_id"],
        })
        return state.lineitem_url(number)


def id_token_claims(state: PlatformState, tool: Tool, spec: dict[str, Any],
                    nonce: str) -> dict[str, Any]:
    now = int(time.time())
    context = state.context(spec["context_id"])
    claims: dict[str, Any] = {
        "iss": state.issuer,
        "aud": tool.client_id,
        "azp": tool.client_id,
        "sub": spec["user_id"],
        "iat": now,
        "exp": now + spec["expires_in"],
        "nonce": nonce,
        LTI + "message_type": spec["message_type"],
        LTI + "version": "1.3.0",
        LTI + "deployment_id": spec["deployment_id"],
        LTI + "target_link_uri": spec["target_link_uri"],
        LTI + "roles": spec["roles"],
        LTI + "context": {
            "id": spec["context_id"],
            "label": spec["context_label"] or context["label"],
            "title": spec["context_title"] or context["title"],
            "type": [COURSE_OFFERING],
        },
        LTI + "custom": spec["custom"],
        LTI + "launch_presentation": {
            "document_target": "iframe",
            "return_url": spec["return_url"],
            "locale": "en",
        },
        LTI + "tool_platform": {
            "guid": "independent-test-platform",
            "name": "Independent LTI test platform",
            "product_family_code": "proctor-web-test-lms",
            "version": "1.0",
        },
    }
    for person_claim in ("name", "given_name", "family_name", "email"):
        if person_claim in spec:
            claims[person_claim] = spec[person_claim]
    if spec["storage_target"]:
        claims[LTI + "lti_storage_target"] = spec["storage_target"]
    if spec["message_type"] == RESOURCE_LINK:
        claims[LTI + "resource_link"] = {
            "id": spec["resource_link_id"], "title": spec["resource_link_title"]}
    else:
        claims[DL_SETTINGS_CLAIM] = {
            "deep_link_return_url": state.url("/deep_link_return"),
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "auto_create": True,
            "title": spec["resource_link_title"],
            "data": spec["dl_data"],
        }
    if spec["ags"]:
        ags: dict[str, Any] = {
            "scope": list(AGS_SCOPES),
            "lineitems": state.url(f"/ags/{spec['context_id']}/lineitems"),
        }
        if spec["lineitem"] and spec["message_type"] == RESOURCE_LINK:
            ags["lineitem"] = _resource_link_lineitem(state, spec)
        claims[AGS_ENDPOINT_CLAIM] = ags
    if spec["nrps"]:
        claims[NRPS_CLAIM] = {
            "context_memberships_url": state.url(f"/nrps/{spec['context_id']}/memberships"),
            "service_versions": ["2.0"],
        }
    for name in spec["omit"]:
        claims.pop(name, None)
        claims.pop(LTI + name, None)
    claims.update(spec["override"])
    return claims
