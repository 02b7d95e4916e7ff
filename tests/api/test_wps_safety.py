"""Hostile requests get a clear ExceptionReport, quickly, and the service keeps serving.

XML entity attacks, documents nested too deep, oversized bodies, and references to the service's own
host (refused by default).
"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support.dataserver import DataServer
from tests.support.ows import assert_exception
from tests.support.wps_v100_requests import execute_xml, reference_input
from tests.support.xsd_check import XsdChecker

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<wps:Execute xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"
    service="WPS" version="1.0.0">
  <ows:Identifier>echo</ows:Identifier>
  <wps:DataInputs><wps:Input><ows:Identifier>literal</ows:Identifier>
    <wps:Data><wps:LiteralData>&xxe;</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs>
</wps:Execute>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/1.0.0"
  service="WPS">&lol9;</wps:GetCapabilities>"""


def _still_serving(client: TestClient) -> None:
    response = client.get("/wps", params={"service": "WPS", "request": "GetCapabilities"})
    assert response.status_code == 200


def test_xxe_is_refused_without_leaking(client: TestClient) -> None:
    started = time.perf_counter()
    response = client.post("/wps", content=XXE, headers={"Content-Type": "text/xml"})
    assert time.perf_counter() - started < 1.0
    assert_exception(response, "InvalidParameterValue", 400, "request")
    assert "root:" not in response.text
    _still_serving(client)


def test_xxe_in_utf16_is_refused(client: TestClient) -> None:
    body = XXE.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    response = client.post("/wps", content=body.encode("utf-16"))
    assert_exception(response, "InvalidParameterValue", 400)
    assert "root:" not in response.text


def test_billion_laughs_is_refused_fast(client: TestClient) -> None:
    started = time.perf_counter()
    response = client.post("/wps", content=LAUGHS, headers={"Content-Type": "text/xml"})
    assert time.perf_counter() - started < 1.0
    assert_exception(response, "InvalidParameterValue", 400, "request")
    assert "lollol" not in response.text
    _still_serving(client)


def test_a_document_nested_a_million_deep_is_refused_fast(client: TestClient) -> None:
    depth = 1_000_000
    body = b"<wps:Execute xmlns:wps='http://www.opengis.net/wps/1.0.0' service='WPS' version='1.0.0'>"
    body += b"<a>" * depth + b"</a>" * depth + b"</wps:Execute>"
    started = time.perf_counter()
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml"})
    assert time.perf_counter() - started < 1.0
    exception = assert_exception(response, "InvalidParameterValue", 400, "request")
    assert exception.findtext("{http://www.opengis.net/ows/1.1}ExceptionText") == (
        "the request nests XML elements more than 256 levels deep"
    )
    _still_serving(client)


def test_oversized_body_is_refused(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="http://testserver", max_request_bytes=1024)
    checker = XsdChecker(create_app(settings))
    with TestClient(checker) as client:
        response = client.post("/wps", content=b"<a>" + b"x" * 4096 + b"</a>")
        exception = assert_exception(response, "FileSizeExceeded", 413)
        assert exception.get("locator") is None  # the body is no input: no identifier to name

        def chunks():  # no Content-Length: the cap applies while streaming
            for _ in range(8):
                yield b"x" * 512

        response = client.post("/wps", content=chunks())
        exception = assert_exception(response, "FileSizeExceeded", 413)
        assert exception.get("locator") is None  # the body is no input: no identifier to name
        _still_serving(client)
    assert not checker.failures


def test_reference_to_loopback_refused_by_default(tmp_path, data_server: DataServer, rasters) -> None:
    from app.main import create_app
    from app.settings import Settings

    rasters("red.tif", width=10, height=10)
    app = create_app(Settings(data_dir=tmp_path / "d", public_url="http://testserver"))
    with TestClient(app) as default_client:
        inputs = reference_input("red", data_server.url("red.tif")) + reference_input(
            "nir", data_server.url("red.tif")
        )
        response = default_client.post("/wps", content=execute_xml(inputs, "", "ndvi"))
    assert_exception(response, "InvalidParameterValue", 400, "red")
    assert data_server.requests == []
