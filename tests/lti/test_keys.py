"""Our LTI key set: published at /lti/jwks.json, verifies what we sign, survives rotation."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from proctor_web.lti import keys


def _verify(token: str, key_set: dict) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in key_set["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience="them")


def test_key_set_is_created_on_first_use_and_verifies_our_tokens(app, client, now) -> None:
    token = keys.sign_jwt({"aud": "them", "sub": "x"}, now)
    response = client.get("/lti/jwks.json")
    assert response.status_code == 200
    key_set = response.get_json()
    assert len(key_set["keys"]) == 1
    assert {"kty", "n", "e", "kid", "alg", "use"} <= set(key_set["keys"][0])
    assert "d" not in key_set["keys"][0]  # never the private part
    assert _verify(token, key_set)["sub"] == "x"


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_for_the_grace_period(
    app, now
) -> None:
    old_token = keys.sign_jwt({"aud": "them"}, now)
    new_key = keys.rotate_keys(now)
    new_token = keys.sign_jwt({"aud": "them"}, now)
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid
    published = keys.public_key_set(now)
    assert _verify(old_token, published) and _verify(new_token, published)

    later = keys.public_key_set(now + keys.KEY_GRACE + timedelta(seconds=1))
    assert [k["kid"] for k in later["keys"]] == [new_key.kid]
    with pytest.raises(StopIteration):
        _verify(old_token, later)


def test_cli_rotates_the_key(app, now) -> None:
    first = keys.ensure_signing_key(now).kid
    result = app.test_cli_runner().invoke(args=["proctor", "lti-rotate-key"])
    assert result.exit_code == 0, result.output
    assert first not in result.output and "now signed with key" in result.output
