"""``/outputs/{job_id}/{name}``: result files, streamed, with HTTP Range support."""

from __future__ import annotations

import mimetypes
import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.api.deps import settings_of
from app.api.routing import ResourceRoute
from app.model.errors import HttpError

router = APIRouter(route_class=ResourceRoute, tags=["Outputs"])

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")
# A .tif result is a GeoTIFF whatever spelling its job asked for (the document that links it names
# that spelling); the file itself goes out under the WPS spelling, the declared default of every
# raster output, which the WPS clients and the tests' downloads expect.
_MEDIA_TYPES = {
    ".tif": "image/tiff; subtype=geotiff",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".xml": "text/xml",
    ".txt": "text/plain",
}


def media_type_for(name: str) -> str:
    """The Content-Type a result file is served with."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@router.get(
    "/outputs/{job_id}/{name}",
    summary="Download a result file (HTTP Range supported)",
    responses={404: {"description": "No such result (never existed, expired or dismissed)"}},
)
def get_output(request: Request, job_id: str, name: str) -> FileResponse:
    """Stream one result file of a job."""
    if not _JOB_ID.match(job_id) or not _FILE_NAME.match(name):
        raise HttpError("no such result", status=404)
    root = settings_of(request).outputs_dir.resolve()
    path = (root / job_id / name).resolve()
    if root not in path.parents or not path.is_file():
        raise HttpError("no such result", status=404)
    return FileResponse(path, media_type=media_type_for(name), filename=name)
