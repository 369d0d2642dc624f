"""Names the LTI 1.3 core specification gives its claims: shared by the tool side
(``lti.tool.claims``) and the platform side (``lti_proctoring.claims``)."""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
TOOL_PLATFORM = LTI + "tool_platform"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
LTI_VERSION = "1.3.0"

#: Every name above: the tool and the platform modules take them all with ``import *``.
__all__ = [name for name in dir() if name.isupper()]
