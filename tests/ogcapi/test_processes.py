"""/processes and /processes/{id}: summaries, paging, and JSON Schemas derived from the declarations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import Field

from app.algorithms.base import BBoxInput, ComplexInput, LiteralInput, Output, Process, ProcessInputs
from app.algorithms.formats import GEOJSON_FORMATS, GEOTIFF_FORMATS
from app.algorithms.registry import default_registry
from app.model.descriptions import DataKind, LiteralDomain
from app.model.requests import BoundingBoxValue, ComplexValue
from app.settings import Settings
from tests.support.json_check import CheckedFactory
from tests.support.ogcapi import local

GEOTIFF = "image/tiff; subtype=geotiff"
OGC_GEOTIFF = "image/tiff; application=geotiff"  # registered (OGC 19-008): this face's default


class DeclaredInputs(ProcessInputs):
    """Every kind of declaration the JSON Schema derivation must render."""

    method: Annotated[Literal["mean", "max"], LiteralInput("Method")] = "mean"
    threshold: Annotated[float, Field(gt=0, le=1), LiteralInput("Threshold")] = 0.5
    count: Annotated[int, Field(ge=1), LiteralInput("Count")]
    flag: Annotated[bool, LiteralInput("Flag")] = False
    rasters: Annotated[
        list[ComplexValue], Field(min_length=2, max_length=5), ComplexInput("Rasters", GEOTIFF_FORMATS)
    ]
    zones: Annotated[ComplexValue | None, ComplexInput("Zones", GEOJSON_FORMATS)] = None
    area: Annotated[BoundingBoxValue | None, BBoxInput("Area", ("EPSG:4326", "EPSG:32631"))] = None


class Declared(Process):
    """A process that only exists to be described."""

    identifier = "declared"
    title = "Declared"
    Inputs = DeclaredInputs
    outputs = (Output("total", "Total", DataKind.LITERAL, literal=LiteralDomain(data_type="double")),)

    def run(self, inputs: DeclaredInputs) -> Mapping[str, object]:
        return {"total": 1.0}


@pytest.fixture
def declared_client(tmp_path: Path, checked: CheckedFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "declared", public_url="http://testserver")
    with TestClient(checked(settings, default_registry().register(Declared))) as client:
        yield client


def test_process_list(client: TestClient) -> None:
    response = client.get("/processes")
    assert response.status_code == 200
    processes = response.json()["processes"]
    assert [p["id"] for p in processes][:3] == ["echo", "ndvi", "clip"]
    echo = processes[0]
    assert echo["jobControlOptions"] == ["sync-execute", "async-execute", "dismiss"]
    assert echo["outputTransmission"] == ["value", "reference"]
    assert echo["version"] == "1.0.0" and echo["title"] == "Echo"
    assert echo["links"][0]["href"] == "http://testserver/processes/echo"


def test_process_list_paging(client: TestClient) -> None:
    everything = [p["id"] for p in client.get("/processes").json()["processes"]]
    first = client.get("/processes", params={"limit": 2}).json()
    assert [p["id"] for p in first["processes"]] == everything[:2]
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(next_link.removeprefix("http://testserver")).json()
    assert [p["id"] for p in second["processes"]] == everything[2:4]
    assert any(link["rel"] == "prev" for link in second["links"])
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "many"}):
        refused = client.get("/processes", params=bad)
        assert refused.status_code == 400, refused.text
        assert refused.json()["locator"] == next(iter(bad))


def test_echo_description(client: TestClient) -> None:
    echo = client.get("/processes/echo").json()
    assert echo["id"] == "echo"
    assert echo["inputs"]["literal"] == {
        "title": "Literal value",
        "description": "Any string; returned as is.",
        "minOccurs": 1,
        "maxOccurs": 1,
        "schema": {"type": "string"},
    }
    assert echo["inputs"]["complex"]["minOccurs"] == 0
    complex_formats = echo["inputs"]["complex"]["schema"]["oneOf"]
    assert {"type": "string", "contentMediaType": "text/xml"} in complex_formats
    assert {"type": "object", "contentMediaType": "application/json"} in complex_formats
    assert {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"} in complex_formats
    bbox = echo["inputs"]["bbox"]["schema"]
    assert bbox["required"] == ["bbox"] and bbox["format"] == "ogc-bbox"
    assert bbox["properties"]["crs"]["default"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert "http://www.opengis.net/def/crs/EPSG/0/32631" in bbox["properties"]["crs"]["enum"]
    assert set(echo["outputs"]) == {"literal", "complex", "bbox"}
    links = {link["rel"]: link["href"] for link in echo["links"]}
    assert (
        links["http://www.opengis.net/def/rel/ogc/1.0/execute"]
        == "http://testserver/processes/echo/execution"
    )


def test_ndvi_description(client: TestClient) -> None:
    ndvi = client.get("/processes/ndvi").json()
    red = ndvi["inputs"]["red"]["schema"]["oneOf"]
    assert red[0] == {"type": "string", "contentEncoding": "binary", "contentMediaType": OGC_GEOTIFF}
    assert {"type": "string", "contentEncoding": "base64", "contentMediaType": GEOTIFF} in red
    assert ndvi["outputs"]["ndvi"]["schema"]["oneOf"][0]["contentMediaType"] == OGC_GEOTIFF


def test_schemas_derived_from_the_declaration(declared_client: TestClient) -> None:
    inputs = declared_client.get("/processes/declared").json()["inputs"]
    assert inputs["method"]["schema"] == {"type": "string", "enum": ["mean", "max"], "default": "mean"}
    assert inputs["method"]["minOccurs"] == 0
    assert inputs["threshold"]["schema"] == {
        "type": "number",
        "minimum": 0.0,
        "exclusiveMinimum": True,
        "maximum": 1.0,
        "default": 0.5,
    }
    assert inputs["count"]["schema"] == {"type": "integer", "minimum": 1.0}
    assert inputs["count"]["minOccurs"] == 1
    assert inputs["flag"]["schema"] == {"type": "boolean", "default": False}
    assert (inputs["rasters"]["minOccurs"], inputs["rasters"]["maxOccurs"]) == (2, 5)
    assert inputs["zones"]["schema"]["oneOf"][0] == {
        "type": "object",
        "contentMediaType": "application/geo+json",
    }
    assert inputs["area"]["schema"]["properties"]["crs"]["enum"] == [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/32631",
    ]


def test_unknown_process_is_404(client: TestClient) -> None:
    response = client.get("/processes/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process"
    assert problem["status"] == 404 and "nope" in problem["detail"]


def test_every_registered_process_is_described(client: TestClient) -> None:
    """Whatever the registry holds, each description is valid (the JSON checker validates each one)."""
    summaries = client.get("/processes", params={"limit": 1000}).json()["processes"]
    for summary in summaries:
        description = client.get(local(summary["links"][0]["href"]))
        assert description.status_code == 200, description.text
        assert description.json()["id"] == summary["id"]
        assert description.json()["outputs"], summary["id"]
