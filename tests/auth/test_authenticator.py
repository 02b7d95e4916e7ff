"""The Authenticator as the routes will call it: no credentials, precedence, malformed headers,
unconfigured kinds, challenges, admins, and concurrent use."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Headers

from app.auth import Authenticator
from app.model.errors import Unauthenticated
from app.model.users import Principal
from tests.support.credentials import FakeClock, basic, bcrypt_line, bearer, key_line, rewrite
from tests.support.oidc import OidcIssuer

BASIC = 'Basic realm="Raster WPS", charset="UTF-8"'
BEARER = 'Bearer realm="Raster WPS"'
API_KEY = 'ApiKey realm="Raster WPS", header="X-API-Key"'


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    htpasswd = tmp_path / "htpasswd"
    rewrite(htpasswd, bcrypt_line("alice", "wonderland") + "\n" + bcrypt_line("root", "toor") + "\n")
    keys = tmp_path / "keys"
    rewrite(keys, key_line("bob", "bobs-key") + "\n")
    return {"auth_htpasswd": htpasswd, "auth_api_keys": keys}


@pytest.fixture
def auth(make_auth: Any, files: dict[str, Path], issuer: OidcIssuer) -> Authenticator:
    authenticator: Authenticator = make_auth(**files, **issuer.settings_fields(), auth_admins=["root"])
    return authenticator


def refusal(auth: Authenticator, headers: Any) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        auth.identify(headers)
    return caught.value


def test_no_credentials_is_none(auth: Authenticator) -> None:
    assert auth.identify({}) is None
    assert auth.identify({"Accept": "text/xml", "Authorization": "  ", "X-API-Key": ""}) is None
    assert auth.identify(Headers({"user-agent": "OWSLib"})) is None


def test_one_principal_per_method(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(basic("alice", "wonderland")) == Principal(name="alice", method="basic")
    assert auth.identify({"X-API-Key": "bobs-key"}) == Principal(name="bob", method="api-key")
    assert auth.identify(bearer(issuer.mint("carol"))) == Principal(name="carol", method="bearer")


def test_admins(auth: Authenticator, issuer: OidcIssuer) -> None:
    assert auth.identify(basic("root", "toor")) == Principal(name="root", admin=True, method="basic")
    assert auth.identify(bearer(issuer.mint("root"))).admin  # one namespace of names


def test_header_names_are_case_insensitive(auth: Authenticator) -> None:
    assert auth.identify({"AUTHORIZATION": basic("alice", "wonderland")["Authorization"]}).name == "alice"
    assert auth.identify({"x-Api-KEY": "bobs-key"}).name == "bob"
    assert auth.identify(Headers({"X-API-Key": "bobs-key"})).name == "bob"


def test_the_scheme_is_case_insensitive(auth: Authenticator, issuer: OidcIssuer) -> None:
    token = basic("alice", "wonderland")["Authorization"].split()[1]
    assert auth.identify({"Authorization": f"bAsIc  {token}"}).name == "alice"
    assert auth.identify({"Authorization": f"BEARER {issuer.mint()}"}).name == "alice"


def test_both_headers_are_refused_as_ambiguous(auth: Authenticator) -> None:
    error = refusal(auth, {**basic("alice", "wonderland"), "X-API-Key": "bobs-key"})
    assert "not both" in error.message
    assert error.headers["WWW-Authenticate"] == f"{BASIC}, {BEARER}, {API_KEY}"


def test_a_repeated_header_is_refused(auth: Authenticator) -> None:
    twice = Headers(raw=[(b"x-api-key", b"bobs-key"), (b"x-api-key", b"other")])
    assert "more than once" in refusal(auth, twice).message
    auth_twice = Headers(raw=[(b"authorization", b"Basic YTpi"), (b"Authorization", b"Basic YTpi")])
    assert "more than once" in refusal(auth, auth_twice).message


@pytest.mark.parametrize(
    "value",
    [
        "Basic",
        "Basic !!!!",
        "Basic YWxpY2U",  # base64 without its padding
        "Basic " + base64.b64encode(b"alice-without-colon").decode(),
        "Basic " + base64.b64encode(b"alice:\xff\xfe").decode(),  # not UTF-8
        "Basic a b",
        "Bearer",
        "Bearer a b",
        "Bearer tok\u00e9n",
        "Negotiate YII=",
        "Digest username=alice",
        "Basic " + "A" * 20_000,
    ],
)
def test_malformed_authorization(auth: Authenticator, value: str) -> None:
    error = refusal(auth, {"Authorization": value})
    assert error.headers["WWW-Authenticate"] == f"{BASIC}, {BEARER}, {API_KEY}"


def test_a_too_long_api_key(auth: Authenticator) -> None:
    refusal(auth, {"X-API-Key": "k" * 20_000})


def test_an_empty_user_is_just_not_valid(auth: Authenticator) -> None:
    assert refusal(auth, basic("", "wonderland")).message == "The credentials are not valid."


@pytest.mark.parametrize(
    ("configured", "headers", "kind", "challenge"),
    [
        ("auth_api_keys", basic("alice", "wonderland"), "Basic", API_KEY),
        ("auth_htpasswd", {"X-API-Key": "bobs-key"}, "API key", BASIC),
    ],
)
def test_a_kind_that_is_not_configured(
    make_auth: Any,
    files: dict[str, Path],
    configured: str,
    headers: dict[str, str],
    kind: str,
    challenge: str,
) -> None:
    auth = make_auth(**{configured: files[configured]})
    error = refusal(auth, headers)
    assert error.message == f"{kind} credentials are not accepted here."
    assert error.headers["WWW-Authenticate"] == challenge


def test_nothing_configured_ignores_credentials(make_auth: Any) -> None:
    auth = make_auth()
    assert not auth.enabled
    assert auth.challenges() == ()
    assert auth.identify(basic("alice", "x")) is None
    assert auth.identify({"Authorization": "garbage"}) is None


def test_challenges_follow_the_configuration(
    make_auth: Any, files: dict[str, Path], issuer: OidcIssuer
) -> None:
    assert make_auth(auth_htpasswd=files["auth_htpasswd"]).challenges() == (BASIC,)
    both = make_auth(**issuer.settings_fields(), auth_api_keys=files["auth_api_keys"])
    assert both.challenges() == (BEARER, API_KEY)
    assert both.challenges(invalid_token=True) == (BEARER + ', error="invalid_token"', API_KEY)
    assert both.enabled


def test_the_realm_is_a_safe_quoted_string(make_auth: Any, files: dict[str, Path]) -> None:
    auth = make_auth(auth_htpasswd=files["auth_htpasswd"], service_title='Jörg\'s "WPS" \\ x\r\n')
    assert auth.challenges() == ('Basic realm="J?rg\'s \\"WPS\\" \\\\ x??", charset="UTF-8"',)


def test_concurrent_use_while_files_change(
    auth: Authenticator, files: dict[str, Path], clock: FakeClock
) -> None:
    errors: list[BaseException] = []
    alice = basic("alice", "wonderland")

    def work() -> None:
        try:
            for _ in range(30):
                assert auth.identify(alice) is not None
                assert auth.identify({"X-API-Key": "bobs-key"}) is not None
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(10):
        rewrite(files["auth_htpasswd"], files["auth_htpasswd"].read_text())
        rewrite(files["auth_api_keys"], files["auth_api_keys"].read_text())
        clock.advance(3)
    for thread in threads:
        thread.join()
    assert not errors
