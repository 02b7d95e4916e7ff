"""API keys sent as X-API-Key, checked against SHA-256 hashes in a file that may change."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app.auth import AuthConfigError
from app.auth.api_keys import ApiKeys, parse_api_keys
from app.model.errors import Unauthenticated
from app.model.users import Principal
from tests.support.credentials import FakeClock, key_line, rewrite

ALICE_KEY = "k-alice-3f9a2c7e1b"
BOB_KEY = "k-bob-77d0e4a5c2"


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys"
    rewrite(path, f"# who:sha256\n\n{key_line('alice', ALICE_KEY)}\n{key_line('bob', BOB_KEY)}\n")
    return path


def test_a_good_key_names_its_owner(make_auth: Any, keys_file: Path) -> None:
    auth = make_auth(auth_api_keys=keys_file)
    assert auth.identify({"X-API-Key": ALICE_KEY}) == Principal(name="alice", method="api-key")
    assert auth.identify({"x-api-key": BOB_KEY}).name == "bob"


def test_a_bad_key_is_refused(make_auth: Any, keys_file: Path) -> None:
    auth = make_auth(auth_api_keys=keys_file)
    with pytest.raises(Unauthenticated) as refused:
        auth.identify({"X-API-Key": ALICE_KEY + "x"})
    assert refused.value.headers["WWW-Authenticate"] == 'ApiKey realm="Raster WPS", header="X-API-Key"'


def test_a_revoked_key_is_refused_after_the_reload(make_auth: Any, keys_file: Path, clock: FakeClock) -> None:
    auth = make_auth(auth_api_keys=keys_file)
    assert auth.identify({"X-API-Key": BOB_KEY}).name == "bob"
    rewrite(keys_file, key_line("alice", ALICE_KEY) + "\n")
    clock.advance(2.5)
    with pytest.raises(Unauthenticated):
        auth.identify({"X-API-Key": BOB_KEY})
    assert auth.identify({"X-API-Key": ALICE_KEY}).name == "alice"


def test_a_new_key_works_after_the_reload(make_auth: Any, keys_file: Path, clock: FakeClock) -> None:
    auth = make_auth(auth_api_keys=keys_file)
    rewrite(keys_file, keys_file.read_text() + key_line("carol", "k-carol") + "\n")
    clock.advance(2.5)
    assert auth.identify({"X-API-Key": "k-carol"}).name == "carol"


def test_a_user_may_hold_several_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    rewrite(path, key_line("alice", "old") + "\n" + key_line("alice", "new") + "\n")
    keys = ApiKeys(path)
    assert keys.owner("old") == keys.owner("new") == "alice"


def test_uppercase_digests_and_spaces_are_read() -> None:
    table = parse_api_keys(" alice : " + key_line("x", "k").split(":")[1].upper() + " \n")
    assert [user for user, _ in table.entries] == ["alice"]


def test_malformed_lines_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = "alice:not-hex\nbob\n:" + "a" * 64 + "\ncarol:" + "ab" * 31 + "\n" + key_line("dave", "k") + "\n"
    with caplog.at_level(logging.WARNING, logger="app.auth.api_keys"):
        table = parse_api_keys(text, "keys")
    assert [user for user, _ in table.entries] == ["dave"]
    assert caplog.text.count("is not `user:sha256-hex`") == 4


def test_a_key_listed_for_two_users_is_refused_for_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keys"
    rewrite(path, "\n".join([key_line("alice", "same"), key_line("bob", "same"), key_line("alice", "same")]))
    with caplog.at_level(logging.WARNING, logger="app.auth.api_keys"):
        keys = ApiKeys(path)
    assert keys.owner("same") is None
    assert "another user holds" in caplog.text


def test_every_stored_hash_is_compared(keys_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.auth import api_keys

    calls: list[bytes] = []
    real = api_keys.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(a)
        return real(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    assert ApiKeys(keys_file).owner(ALICE_KEY) == "alice"  # the first line: no early exit
    assert len(calls) == 2


def test_a_missing_file_fails_at_startup(tmp_path: Path, make_auth: Any) -> None:
    with pytest.raises(AuthConfigError):
        make_auth(auth_api_keys=tmp_path / "nope")
