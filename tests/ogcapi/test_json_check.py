"""The JSON checker itself: it must catch what it exists to catch."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.testclient import TestClient

from tests.support.json_check import JsonChecker, as_draft7, schema_for, validate

STATUS = {"jobID": "a", "status": "running", "type": "process"}


def test_official_schemas_accept_and_refuse() -> None:
    assert validate("statusInfo.yaml", STATUS) == []
    assert validate("statusInfo.yaml", {**STATUS, "status": "succeeded"})  # the WPS name, not the OGC one
    assert validate("statusInfo.yaml", {**STATUS, "progress": 101})
    assert validate("statusInfo.yaml", {**STATUS, "message": None})  # null is not a string
    assert validate("exception.yaml", {"title": "no type"})
    assert validate("results.yaml", {"out": {"bbox": [1, 2, 3]}})
    assert validate("results.yaml", {"out": {"href": "http://x/y.tif", "type": "image/tiff"}}) == []
    schema = {"schema": {"type": "number", "minimum": 0, "exclusiveMinimum": True}}
    assert validate("inputDescription.yaml", schema) == []
    assert validate("inputDescription.yaml", {"schema": {"type": "number", "exclusiveMinimum": 0}})


def test_draft7_conversion_keeps_property_names() -> None:
    converted = as_draft7(
        {"oneOf": [{"minimum": 1, "exclusiveMinimum": True}], "properties": {"oneOf": {"oneOf": [{}]}}}
    )
    assert converted == {"anyOf": [{"exclusiveMinimum": 1}], "properties": {"oneOf": {"anyOf": [{}]}}}


def test_paths_map_to_schemas() -> None:
    assert schema_for("/", 200) == "landingPage.yaml"
    assert schema_for("/processes/echo/execution", 201) == "statusInfo.yaml"
    assert schema_for("/jobs/x/results", 200) == "results.yaml"
    assert schema_for("/anything", 404) == "exception.yaml"
    assert schema_for("/somewhere/else", 200) is None


def test_invalid_unmapped_and_non_problem_responses_are_caught(tmp_path) -> None:
    app = FastAPI()
    download = tmp_path / "data.json"
    download.write_text("{}")

    @app.get("/jobs/{job_id}")
    def bad_status(job_id: str) -> JSONResponse:
        return JSONResponse({"jobID": job_id, "type": "process", "status": "done"})

    @app.get("/unmapped")
    def unmapped() -> JSONResponse:
        return JSONResponse({"a": 1})

    @app.get("/processes/{process_id}")
    def not_a_problem(process_id: str) -> JSONResponse:
        return JSONResponse({"type": "x"}, status_code=404)

    @app.get("/jobs/{job_id}/results")
    def attachment(job_id: str) -> FileResponse:
        return FileResponse(download, filename="data.json", media_type="application/json")

    checker = JsonChecker(app)
    client = TestClient(checker)
    for path in ("/jobs/a", "/unmapped", "/processes/p", "/jobs/a/results"):
        client.get(path)
    assert len(checker.failures) == 3, checker.failures
    assert any("maps to no OGC schema" in failure for failure in checker.failures)
    assert any("not problem+json" in failure for failure in checker.failures)
    assert any("statusInfo.yaml" in failure for failure in checker.failures)
