"""updateSequence (OWS 1.1.0 7.3.4): advertised in Capabilities, honoured in GetCapabilities requests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.service.metadata import FORMAT
from app.settings import Settings
from tests.support.ows import assert_exception, xml

CAPABILITIES = {
    "1.0.0": {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "1.0.0"},
    "2.0.0": {"service": "WPS", "request": "GetCapabilities", "AcceptVersions": "2.0.0"},
}
XML_REQUESTS = {
    "1.0.0": '<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/1.0.0" service="WPS" '
    'updateSequence="{sequence}"/>',
    "2.0.0": '<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/2.0" '
    'xmlns:ows="http://www.opengis.net/ows/2.0" service="WPS" updateSequence="{sequence}"/>',
}


def advertised(client: TestClient, version: str) -> str:
    sequence = xml(client.get("/wps", params=CAPABILITIES[version])).get("updateSequence")
    assert sequence
    return sequence


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_capabilities_advertise_the_same_sequence_in_every_version(client: TestClient, version: str) -> None:
    assert advertised(client, version) == advertised(client, "1.0.0")


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_equal_is_current_update_sequence(client: TestClient, version: str) -> None:
    sequence = advertised(client, version)
    params = CAPABILITIES[version] | {"updateSequence": sequence}
    exception = assert_exception(
        client.get("/wps", params=params), "CurrentUpdateSequence", 400, version=version
    )
    assert exception.get("locator") is None
    body = XML_REQUESTS[version].format(sequence=sequence)
    response = client.post("/wps", content=body, headers={"Content-Type": "text/xml"})
    assert_exception(response, "CurrentUpdateSequence", 400, version=version)


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_greater_is_invalid_update_sequence(client: TestClient, version: str) -> None:
    later = (datetime.strptime(advertised(client, version), FORMAT) + timedelta(seconds=1)).strftime(FORMAT)
    params = CAPABILITIES[version] | {"updateSequence": later}
    exception = assert_exception(
        client.get("/wps", params=params), "InvalidUpdateSequence", 400, version=version
    )
    assert exception.get("locator") is None


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
@pytest.mark.parametrize("given", ["lower", "absent", "foreign"])
def test_lower_absent_or_foreign_gets_the_document(client: TestClient, version: str, given: str) -> None:
    current = advertised(client, version)
    earlier = (datetime.strptime(current, FORMAT) - timedelta(days=1)).strftime(FORMAT)
    value = {"lower": earlier, "absent": None, "foreign": "7"}[given]
    params = CAPABILITIES[version] | ({"updateSequence": value} if value else {})
    root = xml(client.get("/wps", params=params))
    assert root.tag.endswith("}Capabilities") and root.get("updateSequence") == current


def test_the_sequence_survives_a_restart_of_the_same_service(client: TestClient, settings: Settings) -> None:
    before = advertised(client, "1.0.0")
    with TestClient(create_app(settings)) as again:
        assert advertised(again, "1.0.0") == before
