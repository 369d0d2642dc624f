"""Names of the LTI 1.3 claims we read and write, and the role vocabulary we map."""

from __future__ import annotations

from proctor_web.lti.core_claims import *  # noqa: F403  (the core names, here too)

DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DEEP_LINKING_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DEEP_LINKING_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DEEP_LINKING_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

#: The custom parameter naming the exam a resource link opens (our content id).
CONTENT_ID_PARAMETER = "content_id"

#: Role names (the last part of a role URI, or its short form) that make course staff.
STAFF_ROLE_NAMES = frozenset({"Instructor", "TeachingAssistant", "ContentDeveloper",
                              "Administrator"})
ROLE_PREFIXES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#",
)
# Sub-roles look like .../membership/Instructor#TeachingAssistant: the part before '#'
# names the context role they belong to.
SUB_ROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership/"


def role_names(roles: list[str]) -> set[str]:
    """The role names behind full URIs, sub-role URIs and the short forms alike."""
    names: set[str] = set()
    for role in roles:
        if not isinstance(role, str):
            continue
        if role.startswith(SUB_ROLE_PREFIX):
            parent, _, child = role[len(SUB_ROLE_PREFIX):].partition("#")
            names.update(n for n in (parent, child) if n)
            continue
        for prefix in ROLE_PREFIXES:
            if role.startswith(prefix):
                role = role[len(prefix):]
                break
        names.add(role)
    return names


def is_staff_role(roles: list[str]) -> bool:
    return bool(role_names(roles) & STAFF_ROLE_NAMES)
