"""proctor_web as an LTI Proctoring Services 1.0 platform: we launch proctoring tools.

- ``claims``: the protocol's names (claim URIs, message types, media type, scope).
- ``common``: our endpoints, the refusal error, tool-signed JWT checks, one-time values.
- ``sessions``: the session bound to (user, resource link, attempt) and its ``session_data``.
- ``oidc``: the third-party-initiated login both platform-originated messages go through,
  and the id_tokens of LtiStartProctoring and LtiEndAssessment (``messages``).
- ``start_assessment``: the tool's LtiStartAssessment, checked claim by claim.
- ``tokens``: the OAuth2 client-credentials token endpoint (signed JWT client assertion).
- ``acs``: the Assessment Control Service (pause, resume, terminate, update, flag).
"""
