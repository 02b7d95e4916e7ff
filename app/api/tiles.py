"""Map tiles of raster results: WebMercatorQuad PNGs and their TileJSON, under a job's results.

``/jobs/{jobID}/results/{outputID}/tiles/WebMercatorQuad/{z}/{x}/{y}.png`` and ``.../tilejson.json``
(TileJSON 3.0.0), for every raster output of a succeeded job the caller may see (the same rules
as the job's status and results: 404 alike for another user's job). ``rescale=low,high``,
``colormap_name`` and ``bidx`` override the process's defaults for that output; a job's status
document links each raster output's TileJSON (rel ``tiles``).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app.api.deps import exchange_of, ogcapi_of
from app.api.jobs import JobID
from app.api.openapi import problem_responses
from app.api.replies import send
from app.api.routing import ResourceRoute
from app.model.errors import InvalidParameterValue
from app.model.rendering import Rendering

router = APIRouter(route_class=ResourceRoute, tags=["Jobs"])

TILES = "/jobs/{jobID}/results/{outputID}/tiles/WebMercatorQuad"
# A job's results do not change until they expire or the job is dismissed; only the caller's
# browser may keep them (they are behind the job's access rules)
CACHE_CONTROL = "private, max-age=3600"

OutputID = Annotated[str, Path(alias="outputID", description="A raster output of the job's process")]
Rescale = Annotated[
    str | None,
    Query(
        description="`low,high`: the values shown as the first and last colour (default: the "
        "process's range for this output, else the 2nd and 98th percentiles of the data)",
        examples=["-1,1"],
    ),
]
ColormapName = Annotated[
    str | None,
    Query(
        description="A colormap of rio-tiler's (`rdylgn`, `viridis`, `terrain`, `greys`, ...) for one "
        "band; an unknown name is a 400 listing them (default: the process's for this output, else grey)",
        examples=["viridis"],
    ),
]
Bands = Annotated[
    list[int] | None,
    Query(description="The band shown, or three shown as red, green, blue (default: 1, or 1, 2, 3)"),
]


@router.get(
    TILES + "/{z}/{x}/{y}.png",
    summary="A map tile of a raster result",
    response_class=Response,
    responses={
        200: {
            "description": "A 256 x 256 PNG; transparent where there is no data (also outside the result)",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(400, 404),
    },
    operation_id="getResultTile",
)
def result_tile(
    request: Request,
    job_id: JobID,
    output: OutputID,
    z: Annotated[int, Path(ge=0, description="Zoom level (tile matrix of WebMercatorQuad: 0 to 24)")],
    x: Annotated[int, Path(ge=0, description="Column")],
    y: Annotated[int, Path(ge=0, description="Row")],
    rescale: Rescale = None,
    colormap_name: ColormapName = None,
    bidx: Bands = None,
) -> Response:
    """One WebMercatorQuad tile of a succeeded job's raster output."""
    exchange = exchange_of(request)
    png = exchange.service.tile(
        job_id,
        output,
        (z, x, y),
        _rendering(rescale, colormap_name),
        tuple(bidx) if bidx else None,
        exchange.gate.user(request),
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": CACHE_CONTROL})


@router.get(
    TILES + "/tilejson.json",
    summary="The TileJSON of a raster result's map tiles",
    responses={
        200: {
            "description": "TileJSON 3.0.0, with `rescale`, `colormap_name` and `legend` for a legend",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **problem_responses(400, 404),
    },
    operation_id="getResultTileJSON",
)
def result_tilejson(
    request: Request,
    job_id: JobID,
    output: OutputID,
    rescale: Rescale = None,
    colormap_name: ColormapName = None,
    bidx: Bands = None,
) -> Response:
    """Where the tiles are, at which zooms, over which bounds, in which colours."""
    exchange = exchange_of(request)
    bands = tuple(bidx) if bidx else None
    tile_set = exchange.service.tile_set(
        job_id, output, _rendering(rescale, colormap_name), bands, exchange.gate.user(request)
    )
    return send(ogcapi_of(request).tilejson(tile_set, bands_asked=bands is not None), request)


def _rendering(rescale: str | None, colormap_name: str | None) -> Rendering:
    """What the request asks of the rendering (the colormap is checked against the file's use)."""
    return Rendering(rescale=_range(rescale) if rescale else None, colormap_name=colormap_name or None)


def _range(text: str) -> tuple[float, float]:
    """``low,high`` as two finite numbers, low below high; InvalidParameterValue otherwise."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise InvalidParameterValue(
            f"rescale must be two numbers, low,high: not {text!r}", locator="rescale"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidParameterValue(
            f"rescale must be finite with low < high: not {text!r}", locator="rescale"
        )
    return (low, high)
