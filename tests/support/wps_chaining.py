"""Chained WPS requests for the nested-process tests: clip and ndvi Execute requests of both versions
and as KVP URLs, chains of any depth, and decoding them as the codecs do (for the decoder tests).

``BOX`` lies inside the zones' scene (tests.support.vectors) with its edges inside pixels, so the
window it cuts is known by hand: ``WINDOW``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import etree
from rasterio.windows import Window

from app.algorithms.registry import default_registry
from app.model.errors import WpsError
from app.model.requests import ExecuteRequest, InputValue, NestedProcess
from app.settings import Settings
from app.wps_xml.chaining import Chain
from app.wps_xml.execute_decoders import top_chain
from app.wps_xml.kvp import Kvp
from app.wps_xml.parser import parse_xml
from app.wps_xml.v100 import decode as v100
from app.wps_xml.v200 import decode as v200
from tests.support import wps_v100_requests as w1
from tests.support import wps_v200_requests as w2

BOX = ((500555.0, 5598803.0), (502222.0, 5599777.0))  # EPSG:32631, in the zones' scene
WINDOW = Window(col_off=55, row_off=29, width=168, height=131)  # the pixels BOX touches, by hand


# ----------------------------------------------------------------------------- requests


def clip_v100(href: str) -> str:
    """A 1.0.0 clip of the raster at ``href`` to BOX, the clipped raster as the raw output."""
    inputs = w1.reference_input("raster", href) + w1.bbox_input(*BOX, "EPSG:32631")
    return w1.execute_xml(inputs, w1.raw("clipped"), "clip")


def clip_v200(href: str) -> str:
    """A 2.0 clip of the raster at ``href`` to BOX."""
    inputs = w2.reference("raster", href) + w2.bbox("bbox", *BOX, "EPSG:32631")
    return w2.execute_xml(inputs + w2.output("clipped"), "clip")


def clip_kvp(href: str, base: str = w1.OWN_WPS) -> str:
    """A 1.0.0 KVP Execute URL of the clip of the raster at ``href`` to BOX (``base``: the WPS)."""
    box = f"{BOX[0][0]},{BOX[0][1]},{BOX[1][0]},{BOX[1][1]},EPSG:32631"
    items = [w1.kvp_reference("raster", href), w1.kvp_value("bbox", box)]
    return w1.kvp_execute_url("clip", items, "clipped", base=base)


def ndvi_v100(red: str, nir: str, form: str = w1.raw("ndvi")) -> str:
    """A 1.0.0 ndvi of two wps:Input fragments."""
    return w1.execute_xml(red + nir, form, "ndvi")


def ndvi_v200(red: str, nir: str = "", response: str = "document") -> str:
    """A 2.0 ndvi of two wps:Input fragments."""
    return w2.execute_xml(red + nir + w2.output("ndvi"), "ndvi", response=response)


def chained_v100(levels: int, leaf: str, nir: str) -> str:
    """ndvi whose red is an ndvi whose red is ... ``levels`` nested processes, ``leaf`` at the bottom."""
    document = leaf
    for _ in range(levels):
        document = ndvi_v100(w1.nested_input("red", document), nir)
    return document


def chained_v200(levels: int, leaf: str) -> str:
    """As :func:`chained_v100`, in WPS 2.0."""
    document = leaf
    for _ in range(levels):
        document = ndvi_v200(w2.nested("red", document))
    return document


# ----------------------------------------------------------------------------- decoding


def chain(**settings: Any) -> Chain:
    """The top of a tree, for the test app's public URL (http://testserver) unless told otherwise."""
    return top_chain(Settings(**{"public_url": "http://testserver", **settings}), default_registry().describe)


def read_v100(document: str, **settings: Any) -> ExecuteRequest:
    """A 1.0.0 Execute document decoded as the codec decodes it."""
    return v100.execute_from_xml(parse_xml(document.encode()), chain(**settings))


def read_v200(document: str, **settings: Any) -> ExecuteRequest:
    """A 2.0 Execute document decoded as the codec decodes it."""
    return v200.execute_from_xml(parse_xml(document.encode()), default_registry().describe, chain(**settings))


def read_kvp(url: str, **settings: Any) -> ExecuteRequest:
    """A 1.0.0 KVP Execute URL decoded as the codec decodes it."""
    kvp = Kvp.from_pairs(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return v100.execute_from_kvp(kvp, default_registry().describe, chain(**settings))


def alone(document: str) -> ExecuteRequest:
    """An Execute document (either version) decoded on its own, as a top-level request."""
    root = parse_xml(document.encode())
    if etree.QName(root).namespace == v200.WPS:
        return v200.execute_from_xml(root, default_registry().describe)
    return v100.execute_from_xml(root)


def nested(value: InputValue) -> NestedProcess:
    """The value, which must be a nested process."""
    assert isinstance(value, NestedProcess), value
    return value


def error_of(error: type[WpsError], call: Any, *args: Any, **kwargs: Any) -> WpsError:
    """The error of that type ``call(*args, **kwargs)`` raises."""
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    return info.value
