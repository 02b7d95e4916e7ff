"""Literal inputs of the JSON face must have their JSON type: nothing is coerced behind the client's back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.ogcapi import assert_problem, execute

REPROJECT_RASTER = {"href": "http://127.0.0.1:9/none.tif"}  # never fetched: refused before any job


@pytest.mark.parametrize(
    ("process", "inputs", "name", "expected", "given"),
    [
        ("echo", {"literal": 12345}, "literal", "a string", "a number"),
        ("echo", {"literal": True}, "literal", "a string", "a boolean"),
        ("echo", {"literal": {"value": 1.5}}, "literal", "a string", "a number"),
        ("echo", {"literal": ["a", 1]}, "literal", "a string", "a number"),
        (
            "change_detection",
            {"before": REPROJECT_RASTER, "after": REPROJECT_RASTER, "threshold": "0.5"},
            "threshold",
            "a number",
            "a string",
        ),
        (
            "change_detection",
            {"before": REPROJECT_RASTER, "after": REPROJECT_RASTER, "threshold": False},
            "threshold",
            "a number",
            "a boolean",
        ),
        ("reproject", {"raster": REPROJECT_RASTER, "crs": 4326}, "crs", "a string", "a number"),
        (
            "reproject",
            {"raster": REPROJECT_RASTER, "crs": "EPSG:4326", "resolution": "10"},
            "resolution",
            "a number",
            "a string",
        ),
    ],
)
def test_wrong_json_type_is_400_naming_the_input(
    client: TestClient, process: str, inputs: dict[str, Any], name: str, expected: str, given: str
) -> None:
    problem = assert_problem(
        execute(client, process, {"inputs": inputs}), 400, "invalid-parameter-value", name
    )
    assert f"expects {expected}, not {given}" in problem["detail"]
    assert client.get("/jobs").json()["jobs"] == []  # refused before any job exists


@pytest.mark.parametrize("value", ["hello", "12345", {"value": "x"}])
def test_strings_are_strings(client: TestClient, value: Any) -> None:
    response = execute(
        client, "echo", {"inputs": {"literal": value}, "outputs": {"literal": {}}, "response": "raw"}
    )
    assert response.status_code == 200, response.text
    assert response.text == (value["value"] if isinstance(value, dict) else value)


@pytest.mark.parametrize("threshold", [1, 0.25, 2.0, {"value": 3}])
def test_numbers_may_be_integers_or_decimals(client: TestClient, threshold: Any) -> None:
    inputs = {"before": REPROJECT_RASTER, "after": REPROJECT_RASTER, "threshold": threshold}
    # the literal passes: what fails is the raster reference (nothing listens there), at run time
    assert_problem(
        execute(client, "change_detection", {"inputs": inputs}), 400, "data-not-accessible", "before"
    )
