"""Landing page, conformance, content negotiation and problem documents for unknown resources."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

from app.ogcapi.codec import CONFORMANCE_CLASSES

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"


def test_landing_page_links(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    links = {link["rel"]: link for link in response.json()["links"]}
    assert links["self"]["href"] == "http://testserver/"
    assert links["service-desc"]["href"] == "http://testserver/openapi.json"
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["service-doc"]["href"] == "http://testserver/docs"
    assert links[REL + "conformance"]["href"] == "http://testserver/conformance"
    assert links[REL + "processes"]["href"] == "http://testserver/processes"
    assert links[REL + "job-list"]["href"] == "http://testserver/jobs"
    for link in links.values():  # every link leads somewhere
        assert client.get(link["href"].removeprefix("http://testserver")).status_code == 200


def test_conformance_lists_exactly_the_implemented_classes(client: TestClient) -> None:
    response = client.get("/conformance")
    assert response.status_code == 200
    expected = {
        CONF + name for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")
    } | {"http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"}
    assert set(response.json()["conformsTo"]) == expected == set(CONFORMANCE_CLASSES)


@pytest.mark.parametrize("path", ["/", "/conformance", "/processes", "/processes/echo", "/jobs"])
def test_json_negotiation(client: TestClient, path: str) -> None:
    assert client.get(path, params={"f": "json"}).status_code == 200
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get(path, headers={"Accept": browser}).status_code == 200
    assert client.get(path, headers={"Accept": "application/json"}).status_code == 200
    for refused in ({"params": {"f": "html"}}, {"headers": {"Accept": "text/html"}}):
        response = client.get(path, **refused)  # type: ignore[arg-type]
        assert response.status_code == 406, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(path, headers={"Accept": "application/json;q=0"}).status_code == 406


def test_unknown_path_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.put("/processes")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405


def test_openapi_is_a_valid_openapi_30_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.0.")
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in OpenAPIV30SpecValidator(document).iter_errors()
    ]
    assert not errors, errors


def test_openapi_documents_every_ogc_path(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.0.3"
    paths = document["paths"]
    for path, method in [
        ("/", "get"),
        ("/conformance", "get"),
        ("/processes", "get"),
        ("/processes/{processID}", "get"),
        ("/processes/{processID}/execution", "post"),
        ("/jobs", "get"),
        ("/jobs/{jobID}", "get"),
        ("/jobs/{jobID}", "delete"),
        ("/jobs/{jobID}/results", "get"),
        ("/wps", "get"),
        ("/wps", "post"),
    ]:
        operation = paths[path][method]
        assert "422" not in operation["responses"], (path, method)
        assert operation["responses"]["200" if "200" in operation["responses"] else "201"]["content"]
    execute = paths["/processes/{processID}/execution"]["post"]
    assert execute["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Execute"
    }
    assert {"echo", "ndvi"} <= set(execute["requestBody"]["content"]["application/json"]["examples"])
    assert "201" in execute["responses"] and "204" in execute["responses"]
    assert paths["/processes"]["get"]["responses"]["400"]["content"]["application/problem+json"]
    wps_get = paths["/wps"]["get"]
    assert {"service", "request", "version", "identifier", "DataInputs", "jobId"} <= {
        p["name"] for p in wps_get["parameters"]
    }
    assert "text/xml" in wps_get["responses"]["200"]["content"]
    wps_post = paths["/wps"]["post"]
    assert {"capabilities", "describe", "echo", "ndvi"} <= set(
        wps_post["requestBody"]["content"]["text/xml"]["examples"]
    )
    assert "ValidationError" not in document["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_documented_wps_examples_work(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    examples = document["paths"]["/wps"]["post"]["requestBody"]["content"]["text/xml"]["examples"]
    roots = {}
    for name, example in examples.items():
        response = client.post("/wps", content=example["value"], headers={"Content-Type": "text/xml"})
        assert response.status_code == 200, (name, response.text)
        roots[name] = etree.fromstring(response.content)
    assert roots["capabilities"].get("version") == "2.0.0"
    assert roots["describe"].tag == "{http://www.opengis.net/wps/1.0.0}ProcessDescriptions"
    assert roots["echo"].tag == "{http://www.opengis.net/wps/2.0}Result"
    # the ndvi example runs asynchronously: accepted at once (the test settings then refuse the
    # public hosts it names before any network access, so the job fails without fetching)
    assert roots["ndvi"].find("{http://www.opengis.net/wps/1.0.0}Status") is not None
