"""The egress guard's rules: allow-list entries with ports, the checked addresses of a connection,
policy tokens. Pure functions, a scripted resolver."""

from __future__ import annotations

import ipaddress

import pytest

from app.raster.addresses import (
    AllowedEntry,
    EgressPolicy,
    IPAddress,
    Refused,
    checked_addresses,
    host_listed,
    parse_allowed,
    public_allowed,
)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("example.org", "example.org", None),
        ("Example.ORG.", "example.org", None),
        ("example.org:8443", "example.org", 8443),
        ("127.0.0.1", "127.0.0.1", None),
        ("127.0.0.1:8000", "127.0.0.1", 8000),
        ("::1", "::1", None),
        ("[::1]", "::1", None),
        ("[::1]:8080", "::1", 8080),
        ("[0:0:0:0:0:ffff:7f00:1]", "::ffff:7f00:1", None),
        ("*.example.org:443", "*.example.org", 443),
        ("*", "*", None),
        ("*:443", "*", 443),
    ],
)
def test_entries(text: str, host: str, port: int | None) -> None:
    assert AllowedEntry.parse(text) == AllowedEntry(host, port)


@pytest.mark.parametrize(
    "text", ["", "host:", "host:http", "host:0", "host:65536", "[::1", "[::1]x", ":80", "h:²"]
)
def test_meaningless_entries_allow_nothing(text: str) -> None:
    assert AllowedEntry.parse(text) is None


def test_an_entry_without_a_port_allows_every_port() -> None:
    allowed = parse_allowed(["data.example", "pinned.example:8443", "[::1]:9000"])
    assert host_listed("data.example", 80, allowed) and host_listed("data.example", 1234, allowed)
    assert host_listed("pinned.example", 8443, allowed) and not host_listed("pinned.example", 443, allowed)
    assert host_listed("[::1]", 9000, allowed) and not host_listed("::1", 9001, allowed)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "::1",
        "::ffff:127.0.0.1",
        "127.0.0.2",
        "2130706433",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "sub.127.0.0.1",
    ],
)
def test_listing_an_address_lists_no_other_spelling(host: str) -> None:
    assert not host_listed(host, 80, parse_allowed(["127.0.0.1"]))


def test_wildcards() -> None:
    allowed = parse_allowed(["*.example.org", "*:443"])
    assert host_listed("a.example.org", 80, allowed) and host_listed("a.b.example.org", 80, allowed)
    assert not host_listed("example.org", 80, allowed) and not host_listed("badexample.org", 80, allowed)
    assert public_allowed(443, allowed) and not public_allowed(80, allowed)
    assert not host_listed("anything", 443, allowed)  # "*" lists no name: it is "public addresses"


def scripted(answers: dict[str, list[str]]) -> tuple[list[str], object]:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address(address) for address in answers[host]]

    return asked, resolve


def test_a_listed_name_may_resolve_anywhere_and_is_resolved_once() -> None:
    asked, resolve = scripted({"db.internal": ["10.0.0.5", "fd00::5"]})
    found = checked_addresses("DB.internal.", 5432, parse_allowed(["db.internal"]), resolve)  # type: ignore[arg-type]
    assert [str(address) for address in found] == ["10.0.0.5", "fd00::5"]
    assert asked == ["db.internal"]


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["93.184.216.34", "127.0.0.1"],
        ["::1"],
        ["::ffff:10.0.0.1"],
        ["169.254.169.254"],
        ["64:ff9b::a00:1"],
    ],
)
def test_star_refuses_any_non_public_answer(answer: list[str]) -> None:
    _, resolve = scripted({"rebind.example": answer})
    with pytest.raises(Refused, match="not a public address"):
        checked_addresses("rebind.example", 80, parse_allowed(["*"]), resolve)  # type: ignore[arg-type]


def test_star_allows_public_answers() -> None:
    _, resolve = scripted({"cdn.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})
    assert len(checked_addresses("cdn.example", 443, parse_allowed(["*"]), resolve)) == 2  # type: ignore[arg-type]


def test_unlisted_hosts_are_refused_before_any_resolution() -> None:
    asked, resolve = scripted({})
    with pytest.raises(Refused, match="not allowed"):
        checked_addresses("other.example", 80, parse_allowed(["data.example", "*:443"]), resolve)  # type: ignore[arg-type]
    assert asked == []


def test_policy_token_round_trip() -> None:
    policy = EgressPolicy(("127.0.0.1:8000", "*.example.org", "[::1]"), 12.5)
    token = policy.token()
    assert ":" not in token and "=" not in token and "/" not in token
    assert EgressPolicy.from_token(token) == policy


@pytest.mark.parametrize("token", ["", "!!!", "eyJoIjoxfQ", "bnVsbA", "W10"])
def test_bad_policy_tokens(token: str) -> None:
    with pytest.raises(ValueError):
        EgressPolicy.from_token(token)
