"""Which WPS version answers a request: version parameter, namespace, or negotiated AcceptVersions."""

from __future__ import annotations

import pytest

from app.model.errors import (
    InvalidParameterValue,
    MissingParameterValue,
    OperationNotSupported,
    VersionNegotiationFailed,
)
from app.settings import Settings
from app.wps_xml.codecs import CODECS, WpsCodecs
from app.wps_xml.message import accepted_versions, negotiate, read_kvp, read_xml, version_hint
from app.wps_xml.parser import parse_xml

OFFERED = ("1.0.0", "2.0.0")
NAMESPACES = {"http://www.opengis.net/wps/1.0.0": "1.0.0", "http://www.opengis.net/wps/2.0": "2.0.0"}


@pytest.mark.parametrize(
    ("pairs", "version"),
    [
        ([("service", "WPS"), ("request", "DescribeProcess"), ("version", "2.0.0")], "2.0.0"),
        ([("request", "DescribeProcess"), ("VERSION", "1.0.0")], "1.0.0"),
        ([("request", "GetStatus"), ("version", "2.0")], "2.0.0"),  # the major version decides
        ([("request", "GetStatus"), ("version", "9.9.9")], "1.0.0"),  # unknown: the default reports it
        ([("request", "GetCapabilities")], "1.0.0"),
        ([("request", "GetCapabilities"), ("AcceptVersions", "2.0.0,1.0.0")], "2.0.0"),
        ([("request", "getcapabilities"), ("acceptversions", "9.0.0, 1.0.0")], "1.0.0"),
        ([("request", "GetCapabilities"), ("version", "2.0.0"), ("AcceptVersions", "9.0.0")], "2.0.0"),
    ],
)
def test_kvp_version(pairs: list[tuple[str, str]], version: str) -> None:
    message = read_kvp(pairs, OFFERED)
    assert message.version == version and message.offered == OFFERED and message.root is None
    if not any(name.lower() == "acceptversions" for name, _ in pairs):
        assert version_hint(pairs, OFFERED) == version


def test_version_hint_never_fails_where_reading_does() -> None:
    pairs = [("version", "2.0.0"), ("request", "GetStatus"), ("request", "Dismiss")]
    with pytest.raises(InvalidParameterValue):
        read_kvp(pairs, OFFERED)
    assert version_hint(pairs, OFFERED) == "2.0.0"


@pytest.mark.parametrize(
    ("document", "version"),
    [
        (b'<wps:Execute xmlns:wps="http://www.opengis.net/wps/2.0"/>', "2.0.0"),
        (b'<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0"/>', "1.0.0"),
        (b'<Execute xmlns="urn:elsewhere"/>', "1.0.0"),
        (
            b'<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/1.0.0" '
            b'xmlns:ows="http://www.opengis.net/ows/1.1"><wps:AcceptVersions>'
            b"<ows:Version>2.0.0</ows:Version></wps:AcceptVersions></wps:GetCapabilities>",
            "2.0.0",
        ),
        (
            b'<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/2.0" '
            b'xmlns:ows="http://www.opengis.net/ows/2.0"><ows:AcceptVersions>'
            b"<ows:Version>7.0.0</ows:Version><ows:Version>1.0.0</ows:Version>"
            b"</ows:AcceptVersions></wps:GetCapabilities>",
            "1.0.0",
        ),
    ],
)
def test_xml_version(document: bytes, version: str) -> None:
    message = read_xml(document, NAMESPACES)
    assert message.version == version and message.kvp is None


def test_accept_versions_in_either_namespace_in_order() -> None:
    root = parse_xml(
        b'<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/1.0.0" '
        b'xmlns:ows="http://www.opengis.net/ows/1.1"><wps:AcceptVersions><ows:Version> 2.0.0 </ows:Version>'
        b"<ows:Version>1.0.0</ows:Version></wps:AcceptVersions></wps:GetCapabilities>"
    )
    assert accepted_versions(root) == ("2.0.0", "1.0.0")


def test_negotiation() -> None:
    negotiate((), OFFERED, "1.0.0")
    negotiate(("9.9.9", "2.0.0"), OFFERED, "2.0.0")
    with pytest.raises(VersionNegotiationFailed, match=r"supported: 1\.0\.0, 2\.0\.0") as failed:
        negotiate(("9.9.9",), OFFERED, "1.0.0")
    assert failed.value.locator_for("1.0.0") is None and failed.value.locator_for("2.0.0") is None


def test_the_table_is_the_offered_versions_in_order(settings: Settings) -> None:
    codecs = WpsCodecs(settings)
    assert codecs.offered == tuple(CODECS) == OFFERED
    assert codecs.default.version == "1.0.0"
    assert {codec.version for codec in codecs.by_version.values()} == set(OFFERED)
    assert codecs.namespaces == NAMESPACES


@pytest.mark.parametrize("version", OFFERED)
def test_each_codec_checks_service_request_and_version(settings: Settings, version: str) -> None:
    codec = WpsCodecs(settings)[version]

    def decode(pairs: list[tuple[str, str]]) -> object:
        return codec.decode(read_kvp(pairs, OFFERED), lambda identifier: pytest.fail("no lookup"))

    with pytest.raises(MissingParameterValue, match="service"):
        decode([("request", "GetCapabilities")])
    with pytest.raises(InvalidParameterValue, match="not WPS"):
        decode([("service", "WMS"), ("request", "GetCapabilities")])
    with pytest.raises(OperationNotSupported):
        decode([("service", "WPS"), ("request", "GetMap"), ("version", version)])
    with pytest.raises(MissingParameterValue, match="version"):
        decode([("service", "WPS"), ("request", "DescribeProcess"), ("identifier", "ndvi")])
