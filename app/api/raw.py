"""Raw output responses (WPS 1.0.0 RawDataOutput, WPS 2.0 response="raw"): the bytes themselves."""

from __future__ import annotations

from fastapi.responses import FileResponse, Response

from app.model.errors import InvalidParameterValue
from app.model.results import BoundingBoxResult, ComplexResult, ExecuteResult, LiteralResult

XML_MEDIA_TYPE = "text/xml; charset=utf-8"


def xml_response(document: bytes, status_code: int = 200) -> Response:
    """An XML document response."""
    return Response(content=document, media_type=XML_MEDIA_TYPE, status_code=status_code)


def raw_output(result: ExecuteResult) -> Response:
    """The one requested output's bytes, streamed from disk when stored, with its media type."""
    if not result.outputs:
        raise InvalidParameterValue("the requested output was not produced", locator="RawDataOutput")
    delivered = result.outputs[0]
    name = delivered.description.identifier
    output = delivered.result
    if isinstance(output, ComplexResult):
        media_type = output.format.mime_type
        if output.path is not None:
            return FileResponse(output.path, media_type=media_type, filename=output.path.name)
        filename = f"{name}{output.format.extension}"
        return Response(
            content=output.data or b"",
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if isinstance(output, LiteralResult):
        return Response(content=output.value, media_type="text/plain; charset=utf-8")
    assert isinstance(output, BoundingBoxResult)
    corners = " ".join(str(v) for v in (*output.lower, *output.upper))
    return Response(content=corners, media_type="text/plain; charset=utf-8")
