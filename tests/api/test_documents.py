"""Discovery documents are rendered once per request and served with an ETag (304 on If-None-Match)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.documents import RenderedDocuments, with_etag
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, GetCapabilitiesRequest
from app.settings import Settings
from app.wps_xml.v100.codec import Codec

CAPABILITIES_V100 = "/wps?service=WPS&request=GetCapabilities"
CAPABILITIES_V200 = "/wps?service=WPS&request=GetCapabilities&AcceptVersions=2.0.0"
DISCOVERY = [
    CAPABILITIES_V100,
    CAPABILITIES_V200,
    "/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=ALL",
    "/wps?service=WPS&version=2.0.0&request=DescribeProcess&identifier=ndvi",
    "/processes",
    "/processes/ndvi",
]


@pytest.mark.parametrize("path", DISCOVERY)
def test_discovery_documents_carry_a_stable_etag(client: TestClient, path: str) -> None:
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["etag"].startswith('"') and first.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", DISCOVERY)
def test_if_none_match_answers_304_without_a_body(client: TestClient, path: str) -> None:
    etag = client.get(path).headers["etag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = client.get(path, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag


def test_a_stale_etag_gets_the_document(client: TestClient) -> None:
    response = client.get(CAPABILITIES_V100, headers={"If-None-Match": '"not-this-one"'})
    assert response.status_code == 200 and b"Capabilities" in response.content


def test_each_version_has_its_own_document(client: TestClient) -> None:
    v100, v200 = client.get(CAPABILITIES_V100), client.get(CAPABILITIES_V200)
    assert v100.headers["etag"] != v200.headers["etag"]
    assert b"http://www.opengis.net/wps/1.0.0" in v100.content
    assert b"http://www.opengis.net/wps/2.0" in v200.content


def test_errors_are_not_cached_and_carry_no_etag(client: TestClient) -> None:
    path = "/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=nope"
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 400
        assert "etag" not in response.headers


def test_post_is_never_answered_304(client: TestClient) -> None:
    body = (
        '<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/2.0" '
        'xmlns:ows="http://www.opengis.net/ows/2.0" service="WPS"/>'
    )
    etag = client.post("/wps", content=body, headers={"Content-Type": "text/xml"}).headers["etag"]
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml", "If-None-Match": etag})
    assert response.status_code == 200 and b"Capabilities" in response.content


def test_rendered_once_per_request_and_bounded(settings: Settings) -> None:
    documents = RenderedDocuments(capacity=2)
    renders: list[str] = []

    def render(name: str) -> Reply:
        renders.append(name)
        return Reply(body=name.encode(), media_type="text/plain")

    requests = [GetCapabilitiesRequest(language=lang) for lang in ("a", "b", "c")]
    codec = Codec(settings)
    for _ in range(3):
        assert documents.reply(codec, requests[0], lambda: render("a")).body == b"a"
    assert renders == ["a"]
    documents.reply(codec, requests[1], lambda: render("b"))
    documents.reply(codec, requests[2], lambda: render("c"))  # evicts "a"
    documents.reply(codec, requests[0], lambda: render("a"))
    assert renders == ["a", "b", "c", "a"]
    describe = DescribeProcessRequest(version="1.0.0", identifiers=("ndvi",))
    documents.reply(codec, describe, lambda: render("d"))
    assert renders[-1] == "d"


def test_etag_is_the_body_digest() -> None:
    one, same, other = (with_etag(Reply(body=body)) for body in (b"x", b"x", b"y"))
    assert one.headers["ETag"] == same.headers["ETag"] != other.headers["ETag"]
    streamed = Reply(body=iter([b"x"]))
    assert with_etag(streamed) is streamed
