"""Results and job status of the JSON face, from the neutral ``ExecuteResult`` and ``JobInfo``.

Results follow the request's ``response``: ``document`` is the results JSON; ``raw`` is the one output
itself (streamed, its own media type), 204 with ``Link`` headers when every output went by reference,
or ``multipart/related`` with one part per output (``Content-ID`` = the output identifier).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

from app.model.jobs import JobInfo, JobStatus
from app.model.replies import Reply, raw_reply
from app.model.results import BoundingBoxResult, ComplexResult, DeliveredOutput, ExecuteResult, LiteralResult
from app.ogcapi.describe import crs_uri, is_json, is_text, typed_literal
from app.ogcapi.links import REL, link
from app.ogcapi.models import Link, StatusCode, StatusInfo
from app.ogcapi.replies import JSON, json_reply
from app.ogcapi.tilejson import TILES_REL, tilejson_url
from app.settings import Settings

RESULTS_REL = REL + "results"
_STATUS: dict[JobStatus, StatusCode] = {
    JobStatus.ACCEPTED: "accepted",
    JobStatus.RUNNING: "running",
    JobStatus.SUCCEEDED: "successful",
    JobStatus.FAILED: "failed",
    JobStatus.DISMISSED: "dismissed",
}
NEUTRAL_STATUS = {name: status for status, name in _STATUS.items()}
_CHUNK = 1024 * 1024


def status_info(info: JobInfo, settings: Settings, outputs: tuple[DeliveredOutput, ...] = ()) -> StatusInfo:
    """The statusInfo document of a job; a succeeded one links the map tiles of its raster ``outputs``."""
    job = f"/jobs/{info.job_id}"
    links = [
        link(settings, job, "self", title="job status"),
        Link(
            href=f"{settings.wps_url}/status/{info.job_id}",
            rel="alternate",
            type="text/xml",
            title="WPS 1.0.0 status document",
        ),
    ]
    if info.status is JobStatus.SUCCEEDED and not info.expired:
        links.append(link(settings, f"{job}/results", RESULTS_REL, title="job results"))
        links.extend(_tiles_links(info.job_id, outputs, settings))
    message = info.error.message if info.error is not None else info.message
    progress = 100 if info.status is JobStatus.SUCCEEDED else info.percent
    return StatusInfo(
        processID=info.process_id,
        jobID=info.job_id,
        status=_STATUS[info.status],
        message=message,
        created=info.created,
        started=info.started,
        finished=info.finished,
        updated=info.updated,
        progress=progress,
        links=links,
    )


def _tiles_links(job_id: str, outputs: tuple[DeliveredOutput, ...], settings: Settings) -> list[Link]:
    """A ``tiles`` link to the TileJSON of each output written as a GeoTIFF."""
    return [
        Link(
            href=tilejson_url(settings, job_id, output.description.identifier),
            rel=TILES_REL,
            type=JSON,
            title=output.description.identifier,
        )
        for output in outputs
        if isinstance(output.result, ComplexResult) and output.result.raster_file is not None
    ]


def results(result: ExecuteResult) -> Reply:
    """The results of a finished job, as its request asked for them (``raw`` or a document)."""
    if not result.request.response.raw:
        return json_reply(results_document(result))
    outputs = result.outputs
    if outputs and all(output.reference for output in outputs):
        return _links_only(outputs)
    if len(outputs) == 1:
        return raw_reply(result)
    return _multipart(outputs)


def results_document(result: ExecuteResult) -> dict[str, Any]:
    """The results document: output identifier -> value, qualified value or link."""
    return {output.description.identifier: output_value(output) for output in result.outputs}


def output_value(output: DeliveredOutput) -> Any:
    """One output in a results document."""
    value = output.result
    if isinstance(value, ComplexResult):
        if output.reference:
            return {"href": output.reference, "type": value.format.mime_type}
        return _qualified(value)
    if isinstance(value, BoundingBoxResult):
        return _bbox(value)
    assert isinstance(value, LiteralResult)
    typed = typed_literal(value.value, value.data_type)
    return {"value": typed, "uom": value.uom} if value.uom else typed


def _bbox(value: BoundingBoxResult) -> dict[str, Any]:
    document: dict[str, Any] = {"bbox": [*value.lower, *value.upper]}
    if value.crs:
        document["crs"] = crs_uri(value.crs)
    return document


def _qualified(value: ComplexResult) -> dict[str, Any]:
    media = value.format.mime_type
    data = _bytes(value)
    if is_json(media):
        try:
            return {"value": json.loads(data), "mediaType": media}
        except ValueError:
            pass
    if is_text(media) and value.format.encoding != "base64":
        try:
            return {"value": data.decode("utf-8"), "mediaType": media}
        except UnicodeDecodeError:
            pass
    return {"value": base64.b64encode(data).decode("ascii"), "mediaType": media, "encoding": "base64"}


def _bytes(value: ComplexResult) -> bytes:
    if value.path is not None:
        return value.path.read_bytes()
    return value.data or b""


def _links_only(outputs: tuple[DeliveredOutput, ...]) -> Reply:
    headers = [
        f'<{o.reference}>; rel="{RESULTS_REL}"; title="{o.description.identifier}"; type="{_media(o)}"'
        for o in outputs
    ]
    return Reply(status=204, headers={"Link": ", ".join(headers)})


def _media(output: DeliveredOutput) -> str:
    value = output.result
    if isinstance(value, ComplexResult):
        return value.format.mime_type
    return "application/json" if isinstance(value, BoundingBoxResult) else "text/plain"


def _multipart(outputs: tuple[DeliveredOutput, ...]) -> Reply:
    boundary = f"part-{uuid.uuid4().hex}"
    root = _media(outputs[0]) if outputs else "text/plain"
    media_type = f'multipart/related; boundary="{boundary}"; type="{root}"'
    return Reply(body=_parts(outputs, boundary), media_type=media_type)


def _parts(outputs: tuple[DeliveredOutput, ...], boundary: str) -> Iterator[bytes]:
    for output in outputs:
        media = _media(output)
        identifier = output.description.identifier
        if output.reference:
            media = f'message/external-body; access-type=URL; URL="{output.reference}"'
        yield f"--{boundary}\r\nContent-Type: {media}\r\nContent-ID: <{identifier}>\r\n\r\n".encode()
        yield from _payload(output)
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _payload(output: DeliveredOutput) -> Iterator[bytes]:
    value = output.result
    if output.reference and isinstance(value, ComplexResult):
        yield f"Content-Type: {value.format.mime_type}\r\n\r\n".encode()
    elif isinstance(value, ComplexResult) and value.path is not None:
        with value.path.open("rb") as source:
            while block := source.read(_CHUNK):
                yield block
    elif isinstance(value, ComplexResult):
        yield value.data or b""
    elif isinstance(value, BoundingBoxResult):
        yield json.dumps(_bbox(value)).encode()
    else:
        assert isinstance(value, LiteralResult)
        yield value.value.encode()
