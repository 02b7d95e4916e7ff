"""OIDC bearer JWTs verified against a real local issuer's JWKS, and the forgeries that must fail."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import jwt
import pytest

from app.auth import AuthConfigError, Authenticator
from app.model.errors import Unauthenticated
from app.model.users import Principal
from tests.support.credentials import FakeClock, bearer
from tests.support.oidc import OidcIssuer, ec_key, hmac_token, rsa_key, unsigned_token

INVALID = 'Bearer realm="Raster WPS", error="invalid_token"'


@pytest.fixture
def auth(make_auth: Any, issuer: OidcIssuer) -> Authenticator:
    authenticator: Authenticator = make_auth(**issuer.settings_fields())
    return authenticator


def refused(auth: Authenticator, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        auth.identify(bearer(token))
    assert caught.value.message == "The bearer token is not valid."
    assert caught.value.headers["WWW-Authenticate"] == INVALID
    return caught.value


def test_a_valid_rs256_token_names_its_subject(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(bearer(issuer.mint("alice"))) == Principal(name="alice", method="bearer")


def test_a_valid_es256_token(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(bearer(issuer.mint("bob", key=issuer.keys[1]))).name == "bob"


def test_an_audience_list_containing_ours(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(bearer(issuer.mint(aud=["other", issuer.audience]))).name == "alice"


def test_an_expired_token(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, issuer.mint(expires_in=-120))


def test_the_clock_leeway(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(bearer(issuer.mint(expires_in=-10))).name == "alice"  # within 30 s


def test_a_token_without_expiry(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, issuer.mint(expires_in=None))


def test_a_token_not_yet_valid(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, issuer.mint(nbf=int(time.time()) + 600))


def test_a_wrong_issuer(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, issuer.mint(iss="https://evil.example"))


def test_a_missing_issuer(auth: Authenticator, issuer: OidcIssuer) -> None:
    token = jwt.encode(
        {"sub": "alice", "aud": issuer.audience, "exp": int(time.time()) + 60},
        issuer.keys[0].private_key,
        algorithm="RS256",
        headers={"kid": issuer.keys[0].kid},
    )
    refused(auth, token)


def test_a_wrong_audience(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, issuer.mint(aud="another-service"))


@pytest.mark.parametrize("sub", [None, ""])
def test_a_token_without_subject(auth: Authenticator, issuer: OidcIssuer, sub: str | None) -> None:
    refused(auth, issuer.mint(sub))


def test_a_token_signed_by_another_key_with_a_served_kid(auth: Authenticator, issuer: OidcIssuer) -> None:
    impostor = rsa_key(kid=issuer.keys[0].kid)
    refused(auth, issuer.mint(key=impostor))


def test_alg_none(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, unsigned_token(issuer.claims(), kid=issuer.keys[0].kid))
    refused(auth, unsigned_token(issuer.claims()))


def test_hs256_signed_with_the_public_key(auth: Authenticator, issuer: OidcIssuer) -> None:
    key = issuer.keys[0]
    refused(auth, hmac_token(issuer.claims(), key.public_pem(), kid=key.kid))


def test_hs256_stays_refused_when_configured(
    make_auth: Any, issuer: OidcIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.auth.bearer"):
        auth = make_auth(**issuer.settings_fields(), auth_algorithms=["HS256", "none", "RS256"])
    assert "'HS256' is refused" in caplog.text and "'none' is refused" in caplog.text
    key = issuer.keys[0]
    refused(auth, hmac_token(issuer.claims(), key.public_pem(), kid=key.kid))
    refused(auth, unsigned_token(issuer.claims(), kid=key.kid))
    assert auth.identify(bearer(issuer.mint())).name == "alice"


def test_only_unsafe_algorithms_configured_fails_at_startup(make_auth: Any, issuer: OidcIssuer) -> None:
    with pytest.raises(AuthConfigError):
        make_auth(**issuer.settings_fields(), auth_algorithms=["HS256", "none"])


def test_an_algorithm_not_configured(make_auth: Any, issuer: OidcIssuer) -> None:
    auth = make_auth(**issuer.settings_fields(), auth_algorithms=["RS256"])
    refused(auth, issuer.mint(key=issuer.keys[1]))  # ES256


def test_a_key_used_with_another_algorithm_than_it_declares(auth: Authenticator, issuer: OidcIssuer) -> None:
    key = issuer.keys[0]  # declares RS256
    token = jwt.encode(issuer.claims(), key.private_key, algorithm="PS256", headers={"kid": key.kid})
    refused(auth, token)


def test_an_rsa_key_that_declares_no_algorithm_serves_any_rsa_one(make_auth: Any) -> None:
    key = rsa_key()
    with OidcIssuer([key]) as issuer:
        issuer.extra_jwks.append({**key.public_jwk(declare_alg=False), "kid": "bare"})
        auth = make_auth(**issuer.settings_fields(), auth_algorithms=["RS256", "PS256"])
        token = jwt.encode(issuer.claims(), key.private_key, algorithm="PS256", headers={"kid": "bare"})
        assert auth.identify(bearer(token)).name == "alice"


def test_symmetric_keys_in_the_set_are_ignored(make_auth: Any, issuer: OidcIssuer) -> None:
    secret = b"s" * 32
    issuer.extra_jwks.append(
        {"kty": "oct", "kid": "shared", "k": jwt.utils.base64url_encode(secret).decode()}
    )
    auth = make_auth(**issuer.settings_fields(), auth_algorithms=["RS256", "HS256"])
    refused(auth, hmac_token(issuer.claims(), secret, kid="shared"))
    refused(auth, hmac_token(issuer.claims(), secret, kid="shared", alg="RS256"))


def test_a_token_without_kid_uses_the_only_key(make_auth: Any) -> None:
    key = rsa_key()
    with OidcIssuer([key]) as issuer:
        auth = make_auth(**issuer.settings_fields())
        token = jwt.encode(issuer.claims(), key.private_key, algorithm="RS256")
        assert auth.identify(bearer(token)).name == "alice"


def test_a_token_without_kid_is_refused_among_several_keys(auth: Authenticator, issuer: OidcIssuer) -> None:
    refused(auth, jwt.encode(issuer.claims(), issuer.keys[0].private_key, algorithm="RS256"))


@pytest.mark.parametrize("token", ["abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 2000])
def test_garbage_tokens(auth: Authenticator, token: str) -> None:
    refused(auth, token)


def test_an_unknown_kid_fetches_the_set_again(
    auth: Authenticator, issuer: OidcIssuer, clock: FakeClock
) -> None:
    assert auth.identify(bearer(issuer.mint())).name == "alice"
    assert issuer.fetches == 1
    assert auth.identify(bearer(issuer.mint("bob"))).name == "bob"  # cached: no fetch
    assert issuer.fetches == 1
    old = issuer.keys[0]
    new = issuer.rotate()
    clock.advance(31)
    assert auth.identify(bearer(issuer.mint(key=new))).name == "alice"
    assert issuer.fetches == 2
    clock.advance(301)  # the set is old: fetched again, and the retired key is gone
    refused(auth, issuer.mint(key=old))
    assert issuer.fetches == 3


def test_refreshes_are_rate_limited(auth: Authenticator, issuer: OidcIssuer, clock: FakeClock) -> None:
    assert auth.identify(bearer(issuer.mint())).name == "alice"
    for _ in range(25):
        refused(auth, issuer.mint(key=ec_key(kid=uuid.uuid4().hex)))
    assert issuer.fetches == 1  # the first refresh is less than 30 s after the first fetch
    clock.advance(31)
    for _ in range(25):
        refused(auth, issuer.mint(key=ec_key(kid=uuid.uuid4().hex)))
    assert issuer.fetches == 2
    new = issuer.rotate()
    refused(auth, issuer.mint(key=new))  # rotated right after a refresh: wait for the interval
    clock.advance(31)
    assert auth.identify(bearer(issuer.mint(key=new))).name == "alice"
    assert issuer.fetches == 3


def test_issuer_down_at_the_first_token(make_auth: Any, clock: FakeClock) -> None:
    with OidcIssuer() as issuer:
        fields = issuer.settings_fields()
        token = issuer.mint()
    auth = make_auth(**fields)  # the issuer is gone: startup does not need it
    refused(auth, token)
    refused(auth, token)


@pytest.mark.parametrize(
    "failure",
    [{"status": 500}, {"status": 302}, {"body": b"<html>"}, {"body": b'{"keys": 1}'}, {"body": b"[]"}],
    ids=["500", "redirect", "not-json", "not-a-set", "a-list"],
)
def test_a_failing_issuer(make_auth: Any, issuer: OidcIssuer, failure: dict[str, Any]) -> None:
    for name, value in failure.items():
        setattr(issuer, name, value)
    refused(make_auth(**issuer.settings_fields()), issuer.mint())


def test_the_set_is_read_up_to_a_size_cap(
    make_auth: Any, issuer: OidcIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    issuer.body = json.dumps(issuer.jwks()).encode() + b" " * 1000
    assert make_auth(**issuer.settings_fields()).identify(bearer(issuer.mint())).name == "alice"
    issuer.body = json.dumps(issuer.jwks()).encode() + b" " * 300_000  # valid, but beyond 256 KiB
    with caplog.at_level(logging.WARNING, logger="app.auth.jwks"):
        refused(make_auth(**issuer.settings_fields()), issuer.mint())
    assert "larger than 262144 bytes" in caplog.text


def test_a_slow_issuer_times_out(make_auth: Any, issuer: OidcIssuer) -> None:
    issuer.delay = 3.0
    auth = make_auth(**issuer.settings_fields(), http_timeout=0.3)
    started = time.monotonic()
    refused(auth, issuer.mint())
    assert time.monotonic() - started < 2.5


def test_the_last_good_set_serves_while_the_issuer_fails(
    auth: Authenticator, issuer: OidcIssuer, clock: FakeClock
) -> None:
    assert auth.identify(bearer(issuer.mint())).name == "alice"
    issuer.status = 503
    clock.advance(400)  # old: a refresh is tried, fails, and the keys in hand stay
    assert auth.identify(bearer(issuer.mint())).name == "alice"
    assert issuer.fetches == 2


def test_bearer_when_no_jwks_is_configured(make_auth: Any, tmp_path: Any, issuer: OidcIssuer) -> None:
    keys = tmp_path / "keys"
    keys.write_text("")
    auth = make_auth(auth_api_keys=keys)
    with pytest.raises(Unauthenticated) as caught:
        auth.identify(bearer(issuer.mint()))
    assert caught.value.message == "Bearer credentials are not accepted here."
    assert issuer.fetches == 0


def test_only_http_urls(make_auth: Any) -> None:
    with pytest.raises(AuthConfigError):
        make_auth(auth_jwks_url="file:///etc/passwd")


def test_an_admin_by_subject(make_auth: Any, issuer: OidcIssuer) -> None:
    auth = make_auth(**issuer.settings_fields(), auth_admins=["root"])
    assert auth.identify(bearer(issuer.mint("root"))) == Principal(name="root", admin=True, method="bearer")


def test_plain_http_to_another_host_is_warned_about(make_auth: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.auth.jwks"):
        auth = make_auth(auth_jwks_url="http://issuer.example/jwks", auth_issuer="x", auth_audience="y")
        make_auth(auth_jwks_url="https://issuer.example/jwks", auth_issuer="x", auth_audience="y")
    assert caplog.text.count("plain http") == 1
    assert auth.enabled  # the set is fetched on the first token, not at startup
