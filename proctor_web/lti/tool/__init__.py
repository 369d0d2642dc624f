"""proctor_web as an LTI 1.3 tool: an LMS (the platform) launches us.

- ``registration``: platforms and deployments (CLI and the staff page).
- ``oidc``: the third-party-initiated login and the state/nonce it leaves behind.
- ``launch``: verifying an id_token against the platform's keys and reading its claims.
- ``provisioning``: what an accepted launch creates or updates (user, course, roles, links).
- ``deep_linking``: the signed answer to an LtiDeepLinkingRequest.
- ``frame_session``: sessions inside the LMS iframe without third-party cookies.
"""
