"""HTTP Basic against an htpasswd file: real bcrypt hashes, reloads, the cache, refused schemes."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from app.auth import AuthConfigError
from app.auth import basic as basic_module
from app.auth.basic import HtpasswdUsers, parse_htpasswd
from app.model.errors import Unauthenticated
from app.model.users import Principal
from tests.support.credentials import FakeClock, basic, bcrypt_line, rewrite


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    rewrite(path, bcrypt_line("alice", "wonderland") + "\n" + bcrypt_line("bob", "builder") + "\n")
    return path


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The hashes bcrypt.checkpw was called with, in order."""
    seen: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        seen.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(basic_module.bcrypt, "checkpw", spy)
    return seen


def test_good_password_names_the_user(make_auth: Any, htpasswd: Path) -> None:
    auth = make_auth(auth_htpasswd=htpasswd)
    assert auth.identify(basic("alice", "wonderland")) == Principal(name="alice", method="basic")


def test_wrong_password_and_unknown_user_get_the_same_answer(make_auth: Any, htpasswd: Path) -> None:
    auth = make_auth(auth_htpasswd=htpasswd)
    with pytest.raises(Unauthenticated) as wrong:
        auth.identify(basic("alice", "looking-glass"))
    with pytest.raises(Unauthenticated) as unknown:
        auth.identify(basic("mallory", "wonderland"))
    assert wrong.value.message == unknown.value.message
    assert "alice" not in wrong.value.message and "mallory" not in unknown.value.message
    assert wrong.value.headers == unknown.value.headers
    assert wrong.value.headers["WWW-Authenticate"] == 'Basic realm="Raster WPS", charset="UTF-8"'
    assert wrong.value.http_status == 401


def test_an_unknown_user_costs_a_bcrypt_check_too(htpasswd: Path, checks: list[bytes]) -> None:
    users = HtpasswdUsers(htpasswd)
    assert not users.verify("mallory", "anything")
    assert len(checks) == 1  # against the dummy hash, of the same cost as the users'
    assert checks[0][:7] == b"$2b$04$"


def test_hashes_as_htpasswd_writes_them(tmp_path: Path, make_auth: Any) -> None:
    if shutil.which("htpasswd") is None:
        pytest.skip("Apache's htpasswd is not installed (Debian: apt-get install apache2-utils)")
    path = tmp_path / "htpasswd"
    subprocess.run(
        ["htpasswd", "-B", "-b", "-c", str(path), "carol", "s3cret pass"], check=True, capture_output=True
    )
    subprocess.run(
        ["htpasswd", "-B", "-C", "6", "-b", str(path), "dave", "x" * 80], check=True, capture_output=True
    )
    assert path.read_text().startswith("carol:$2y$05$")
    auth = make_auth(auth_htpasswd=path)
    assert auth.identify(basic("carol", "s3cret pass")).name == "carol"
    assert auth.identify(basic("dave", "x" * 80)).name == "dave"  # htpasswd keeps bcrypt's 72 bytes
    with pytest.raises(Unauthenticated):
        auth.identify(basic("carol", "s3cret"))


@pytest.mark.parametrize("prefix", ["$2y$", "$2b$", "$2a$"])
def test_every_bcrypt_prefix_is_accepted(tmp_path: Path, prefix: str) -> None:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    path = tmp_path / "htpasswd"
    rewrite(path, f"erin:{prefix}{hashed[4:]}\n")
    assert HtpasswdUsers(path).verify("erin", "pw")


def test_utf8_names_and_passwords(tmp_path: Path, make_auth: Any) -> None:
    path = tmp_path / "htpasswd"
    rewrite(path, bcrypt_line("jörg", "pässwörd ☃") + "\n")
    assert make_auth(auth_htpasswd=path).identify(basic("jörg", "pässwörd ☃")).name == "jörg"


def test_passwords_beyond_72_bytes_are_cut_as_bcrypt_does(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    rewrite(path, bcrypt_line("frank", "y" * 72) + "\n")
    assert HtpasswdUsers(path).verify("frank", "y" * 72 + "anything")


def test_other_schemes_are_refused_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "htpasswd"
    lines = [
        "md5:$apr1$Xf1Yp/2d$3Cw2gB7nK3m1mfv2XbVxd/",  # htpasswd -m
        "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",  # htpasswd -s, password "password"
        "sha512:$6$rounds=5000$salt$hash",
        "crypt:rqXexS6ZhobKA",  # htpasswd -d
        "plain:password",  # htpasswd -p
        "bad2x:$2x$05$" + "a" * 53,
        "nocolon",
        bcrypt_line("alice", "wonderland"),
    ]
    rewrite(path, "\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="app.auth.basic"):
        users = HtpasswdUsers(path)
    for user in ("md5", "sha", "sha512", "crypt", "plain", "bad2x"):
        assert not users.verify(user, "password")
    assert users.verify("alice", "wonderland")
    warned = caplog.text
    for scheme in ("MD5 (apr1)", "SHA-1", "SHA-512-crypt", "crypt or plain-text", "bcrypt $2x$"):
        assert scheme in warned
    assert "not `user:hash`" in warned
    assert "password" not in warned.replace("plain-text", "")  # no secret is logged


def test_comments_blank_lines_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    rewrite(path, "# users\n\n  " + bcrypt_line("gina", "pw") + ":extra:fields  \n")
    assert HtpasswdUsers(path).verify("gina", "pw")


def test_the_first_of_repeated_users_counts(tmp_path: Path) -> None:
    table = parse_htpasswd(bcrypt_line("hal", "first") + "\n" + bcrypt_line("hal", "second") + "\n")
    assert list(table.users) == ["hal"]
    assert bcrypt.checkpw(b"first", table.users["hal"])


def test_the_file_is_reloaded_when_it_changes(htpasswd: Path, clock: FakeClock, make_auth: Any) -> None:
    auth = make_auth(auth_htpasswd=htpasswd)
    rewrite(htpasswd, htpasswd.read_text() + bcrypt_line("ivan", "new") + "\n")
    with pytest.raises(Unauthenticated):  # not stat'ed again yet: at most every 2 s
        auth.identify(basic("ivan", "new"))
    clock.advance(2.5)
    assert auth.identify(basic("ivan", "new")).name == "ivan"


def test_a_success_is_cached_until_the_ttl(htpasswd: Path, clock: FakeClock, checks: list[bytes]) -> None:
    users = HtpasswdUsers(htpasswd, cache_ttl=60, clock=clock)
    assert users.verify("alice", "wonderland")
    assert users.verify("alice", "wonderland")
    assert len(checks) == 1
    assert not users.verify("alice", "other")  # failures are not cached, and not served from the cache
    assert len(checks) == 2
    clock.advance(61)
    assert users.verify("alice", "wonderland")
    assert len(checks) == 3


def test_a_changed_file_empties_the_cache(htpasswd: Path, clock: FakeClock, checks: list[bytes]) -> None:
    users = HtpasswdUsers(htpasswd, cache_ttl=600, clock=clock)
    assert users.verify("alice", "wonderland")
    rewrite(htpasswd, bcrypt_line("alice", "changed") + "\n")
    clock.advance(3)
    assert not users.verify("alice", "wonderland")  # the cached success is gone with the old file
    assert users.verify("alice", "changed")


def test_the_cache_is_bounded(htpasswd: Path, checks: list[bytes]) -> None:
    users = HtpasswdUsers(htpasswd, cache_size=1)
    assert users.verify("alice", "wonderland") and users.verify("bob", "builder")
    assert users.verify("alice", "wonderland")  # alice was pushed out by bob
    assert len(checks) == 3


def test_a_removed_file_lets_nobody_in(htpasswd: Path, clock: FakeClock) -> None:
    users = HtpasswdUsers(htpasswd, clock=clock)
    assert users.verify("alice", "wonderland")
    htpasswd.unlink()
    clock.advance(3)
    assert not users.verify("alice", "wonderland")
    rewrite(htpasswd, bcrypt_line("alice", "wonderland") + "\n")
    clock.advance(3)
    assert users.verify("alice", "wonderland")


def test_a_missing_file_fails_at_startup(tmp_path: Path, make_auth: Any) -> None:
    with pytest.raises(AuthConfigError, match="htpasswd"):
        make_auth(auth_htpasswd=tmp_path / "htpasswd")
