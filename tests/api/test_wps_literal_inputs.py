"""Literal inputs are checked against the declaration; internal faults stay internal.

Uses a fresh app with extra test processes: the registry is injected, not global.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import Field

from app.algorithms.base import LiteralInput, Output, Process, ProcessInputs
from app.algorithms.registry import default_registry
from app.main import create_app
from app.model.descriptions import DataKind, LiteralDomain
from app.settings import Settings
from tests.support.ows import NS, assert_exception, xml
from tests.support.xsd_check import XsdChecker


class ScaleInputs(ProcessInputs):
    """Inputs of the test process."""

    mode: Annotated[Literal["up", "down"], LiteralInput("Mode")]
    factor: Annotated[float, Field(ge=0, lt=10), LiteralInput("Factor", uoms=("m",))] = 1.0
    count: Annotated[int, LiteralInput("Count")] = 1


class Scale(Process):
    """Multiply factor by count, negated when mode is down."""

    identifier = "scale"
    title = "Scale"
    Inputs = ScaleInputs
    outputs = (Output("value", "Value", DataKind.LITERAL, literal=LiteralDomain(data_type="double")),)

    def run(self, inputs: ScaleInputs) -> Mapping[str, object]:
        sign = 1 if inputs.mode == "up" else -1
        return {"value": sign * inputs.factor * inputs.count}


class Broken(Process):
    """Always fails with an internal error."""

    identifier = "broken"
    title = "Broken"
    Inputs = ScaleInputs
    outputs = Scale.outputs

    def run(self, inputs: ScaleInputs) -> Mapping[str, object]:
        raise RuntimeError("secret detail /srv/internal/path")


@pytest.fixture
def extra_client(settings: Settings) -> Iterator[TestClient]:
    checker = XsdChecker(create_app(settings, default_registry().register(Scale).register(Broken)))
    with TestClient(checker, raise_server_exceptions=False) as test_client:
        yield test_client
    assert not checker.failures


def run(client: TestClient, identifier: str, data_inputs: str) -> object:
    params = {
        "service": "WPS",
        "version": "1.0.0",
        "request": "Execute",
        "identifier": identifier,
        "DataInputs": data_inputs,
    }
    return client.get("/wps", params=params)


def test_described_domain(extra_client: TestClient) -> None:
    params = {"service": "WPS", "version": "1.0.0", "request": "DescribeProcess", "identifier": "scale"}
    root = xml(extra_client.get("/wps", params=params))
    mode = root.xpath("//Input[ows:Identifier='mode']/LiteralData", namespaces=NS)[0]
    assert [v.text for v in mode.iterfind("ows:AllowedValues/ows:Value", NS)] == ["up", "down"]
    factor = root.xpath("//Input[ows:Identifier='factor']", namespaces=NS)[0]
    assert factor.get("minOccurs") == "0"
    factor_range = factor.find("LiteralData/ows:AllowedValues/ows:Range", NS)
    assert float(factor_range.findtext("ows:MinimumValue", namespaces=NS)) == 0
    assert float(factor_range.findtext("ows:MaximumValue", namespaces=NS)) == 10
    assert factor_range.get("{http://www.opengis.net/ows/1.1}rangeClosure") == "closed-open"
    assert factor.findtext("LiteralData/DefaultValue") == "1.0"
    assert factor.findtext("LiteralData/ows:DataType", namespaces=NS) == "double"
    assert factor.findtext("LiteralData/UOMs/Default/ows:UOM", namespaces=NS) == "m"


def test_literal_conversion(extra_client: TestClient) -> None:
    root = xml(run(extra_client, "scale", "mode=down;factor=2.5;count=3"))
    value = root.find("wps:ProcessOutputs/wps:Output/wps:Data/wps:LiteralData", NS)
    assert float(value.text) == -7.5
    assert value.get("dataType") == "double"


@pytest.mark.parametrize(
    ("data_inputs", "locator"),
    [
        ("mode=sideways", "mode"),
        ("mode=up;factor=10", "factor"),
        ("mode=up;factor=-1", "factor"),
        ("mode=up;factor=abc", "factor"),
        ("mode=up;count=1.5", "count"),
    ],
)
def test_invalid_literals(extra_client: TestClient, data_inputs: str, locator: str) -> None:
    assert_exception(run(extra_client, "scale", data_inputs), "InvalidParameterValue", 400, locator)


def test_internal_fault_is_no_applicable_code(extra_client: TestClient) -> None:
    response = run(extra_client, "broken", "mode=up")
    exception = assert_exception(response, "NoApplicableCode", 500)
    text = exception.findtext("ows:ExceptionText", namespaces=NS)
    assert "request id" in text
    assert "secret" not in response.text and "Traceback" not in response.text
    assert run(extra_client, "scale", "mode=up").status_code == 200
