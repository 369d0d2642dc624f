"""A fake LTI Proctoring Services 1.0 *tool*, for tests and demos of our platform side.

It is deliberately independent of proctor_web's own LTI code: JOSE with PyJWT alone, HTTP
with Flask and requests. It runs as a real server on 127.0.0.1:

- ``/jwks.json``: its own RSA key, fresh at every start;
- ``/login``: OIDC login initiation, sending the browser to the platform's auth endpoint;
- ``/launch``: the redirect URI; verifies the platform's id_token (iss, aud, nonce, claims)
  and, for LtiStartProctoring, shows a "system check" page whose button posts a signed
  LtiStartAssessment back to the platform (submitted automatically when ``auto_start``);
  for LtiEndAssessment, records it;
- ``/_control/...``: for tests: state, reset, configure, and ``acs`` which gets a token from
  the platform's token endpoint with a client assertion and sends an ACS control.

Run it with ``python -m proctor_web.testing.fake_lti_tool --port N``.
"""

from proctor_web.testing.fake_lti_tool.app import create_fake_lti_tool

__all__ = ["create_fake_lti_tool"]
