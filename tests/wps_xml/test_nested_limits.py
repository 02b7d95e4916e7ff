"""Chaining in the WPS decoders, the limits: the depth is bounded while the tree is read (a chain of a
thousand is refused as fast as one of seventeen, and without recursing that deep), and an error
inside the tree is located once by the path of input names from the top (``raster/red/bbox``)."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from app.algorithms.registry import default_registry
from app.model.errors import (
    InvalidParameterValue,
    MissingParameterValue,
    NoSuchMode,
    NoSuchNestedProcess,
    WpsError,
)
from app.model.requests import LiteralValue
from app.wps_xml.parser import parse_xml
from app.wps_xml.v100 import decode as v100
from app.wps_xml.v200 import decode as v200
from tests.support import wps_v100_requests as w1
from tests.support import wps_v200_requests as w2
from tests.support.wps_chaining import (
    BOX,
    alone,
    chain,
    chained_v100,
    chained_v200,
    clip_kvp,
    clip_v100,
    clip_v200,
    error_of,
    ndvi_v100,
    ndvi_v200,
    nested,
    read_kvp,
    read_v100,
    read_v200,
)

DATA = "http://data.example/red.tif"
CLIP_V100 = clip_v100(DATA)
CLIP_V200 = clip_v200(DATA)
CLIP_KVP = clip_kvp(DATA)
NIR = w1.reference_input("nir", DATA)


def ndvi(red: str) -> str:
    """A 1.0.0 ndvi whose red is this wps:Input fragment (nir: plain data)."""
    return ndvi_v100(red, NIR)


# ----------------------------------------------------------------------------- depth


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_the_depth_is_bounded(limit: int) -> None:
    if limit:
        deepest = read_v100(chained_v100(limit, CLIP_V100, NIR), max_nesting=limit)
        for _ in range(limit):
            deepest = nested(deepest.values("red")[0]).request
        assert deepest == alone(CLIP_V100)
    error = error_of(
        InvalidParameterValue, read_v100, chained_v100(limit + 1, CLIP_V100, NIR), max_nesting=limit
    )
    assert error.locator == "/".join(["red"] * (limit + 1))
    assert "WPS_MAX_NESTING" in error.message and f"allows {limit}" in error.message


def test_the_depth_is_bounded_in_v200_and_across_versions() -> None:
    top = nested(read_v200(chained_v200(2, CLIP_V100), max_nesting=2).values("red")[0]).request
    assert nested(top.values("red")[0]).request == alone(CLIP_V100)
    error = error_of(InvalidParameterValue, read_v200, chained_v200(3, CLIP_V100), max_nesting=2)
    assert error.locator == "red/red/red"
    mixed = ndvi(w1.nested_input("red", chained_v200(2, CLIP_V100)))  # 1.0.0 > 2.0 > 2.0 > clip 1.0.0
    error = error_of(InvalidParameterValue, read_v100, mixed, max_nesting=2)
    assert error.locator == "red/red/red" and "WPS_MAX_NESTING" in error.message


def built_in_memory(levels: int, version: str) -> etree._Element:
    """A chain ``levels`` deep built element by element, past the depth the parser accepts."""
    if version == "1.0.0":
        leaf, template, body = CLIP_V100, ndvi(w1.nested_input("red", "")), f"{{{v100.WPS}}}Body"
    else:
        leaf, template, body = CLIP_V200, ndvi_v200(w2.nested("red", "")), f"{{{v200.WPS}}}Body"
    inner = parse_xml(leaf.encode())
    for _ in range(levels):
        outer = parse_xml(template.encode())
        next(outer.iter(body)).append(inner)
        inner = outer
    return inner


@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_a_thousand_levels_are_refused_quickly(version: str) -> None:
    root = built_in_memory(1000, version)
    started = time.perf_counter()
    with pytest.raises(InvalidParameterValue) as info:
        if version == "1.0.0":
            v100.execute_from_xml(root, chain())
        else:
            v200.execute_from_xml(root, default_registry().describe, chain())
    assert time.perf_counter() - started < 1.0
    assert info.value.locator == "/".join(["red"] * 17)
    assert "allows 16 (WPS_MAX_NESTING)" in info.value.message


def test_a_deep_kvp_chain_is_refused_before_its_depths_are_read() -> None:
    url = CLIP_KVP
    for _ in range(40):  # each level escapes the next once more: the URL grows with the square of the depth
        url = w1.kvp_execute_url("ndvi", [w1.kvp_reference("red", url), w1.kvp_reference("nir", DATA)])
    error = error_of(InvalidParameterValue, read_kvp, url)
    assert error.locator == "/".join(["red"] * 17)


# ----------------------------------------------------------------------------- errors inside the tree


def test_errors_of_a_nested_execute_are_located_by_its_path() -> None:
    no_input = w1.execute_xml("<wps:Input><ows:Identifier>raster</ows:Identifier></wps:Input>", "", "clip")
    error = error_of(MissingParameterValue, read_v100, ndvi(w1.nested_input("red", no_input)))
    assert error.locator == "red/raster"
    assert error.message.startswith("in process 'clip' at 'red': ")
    no_identifier = w1.execute_xml("", "", "").replace("<ows:Identifier></ows:Identifier>", "")
    error = error_of(MissingParameterValue, read_v100, ndvi(w1.nested_input("red", no_identifier)))
    assert error.locator == "red/Identifier"
    no_service = CLIP_V100.replace(' service="WPS"', "")
    assert (
        error_of(MissingParameterValue, read_v100, ndvi(w1.nested_input("red", no_service))).locator
        == "red/service"
    )


def test_an_error_two_levels_down_is_located_once() -> None:
    bad_box = CLIP_V100.replace(f"<ows:LowerCorner>{BOX[0][0]}", "<ows:LowerCorner>west")
    top = w1.execute_xml(
        w1.nested_input("raster", ndvi(w1.nested_input("red", bad_box))), "", "zonal_statistics"
    )
    error = error_of(InvalidParameterValue, read_v100, top)
    assert error.locator == "raster/red/bbox"
    assert (
        error.message.startswith("in process 'clip' at 'raster/red': ")
        and error.message.count("in process") == 1
    )


def test_unknown_nested_process_in_a_kvp_href() -> None:
    unknown = CLIP_KVP.replace("identifier=clip", "identifier=nope")
    error = error_of(NoSuchNestedProcess, read_v100, ndvi(w1.kvp_nested_input("red", unknown)))
    assert error.locator == "red" and "'nope'" in error.message
    assert (error.code_for("1.0.0"), error.code_for("2.0.0")) == ("InvalidParameterValue", "NoSuchProcess")
    deeper = w1.kvp_execute_url("ndvi", [w1.kvp_reference("red", unknown)])
    error = error_of(
        NoSuchNestedProcess,
        read_kvp,
        w1.kvp_execute_url("zonal_statistics", [w1.kvp_reference("raster", deeper)]),
    )
    assert error.locator == "raster/red"


def test_unknown_nested_process_in_a_v200_body() -> None:
    unknown = CLIP_V200.replace("<ows:Identifier>clip<", "<ows:Identifier>nope<")
    outer = w2.execute_xml(w2.nested("red", unknown) + w2.output("ndvi"), "ndvi")
    error = error_of(NoSuchNestedProcess, read_v200, outer)
    assert error.locator == "red" and "'nope'" in error.message


@pytest.mark.parametrize(
    ("change", "error", "locator"),
    [
        (("service=WPS", "service=WFS"), InvalidParameterValue, "red/service"),
        (("version=1.0.0", "version=2.0.0"), InvalidParameterValue, "red/version"),
        (("version=1.0.0&", ""), MissingParameterValue, "red/version"),
        (("DataInputs=", "DataInputs=raster%3Dx%40y%3B%3D1"), InvalidParameterValue, "red/DataInputs"),
    ],
)
def test_kvp_href_errors(change: tuple[str, str], error: type[WpsError], locator: str) -> None:
    url = CLIP_KVP.replace(*change)
    assert url != CLIP_KVP
    assert error_of(error, read_v100, ndvi(w1.kvp_nested_input("red", url))).locator == locator


def test_v200_errors_inside_a_v100_request() -> None:
    bad_mode = CLIP_V200.replace('mode="sync"', 'mode="sometimes"')
    error = error_of(NoSuchMode, read_v100, ndvi(w1.nested_input("red", bad_mode)))
    assert error.locator == "red/mode"
    literal = w2.execute_xml(w2.literal("literal", "x") + w2.output("literal"), "echo")
    echo = nested(read_v100(ndvi(w1.nested_input("red", literal))).values("red")[0]).request
    assert echo.values("literal") == [LiteralValue(value="x")]
