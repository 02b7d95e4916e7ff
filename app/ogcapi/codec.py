"""The OGC API - Processes - Part 1 (1.0) codec: resource calls in, JSON documents out.

It shares the WPS 2.0 semantics and exception codes (``ExecuteRequest.version`` 2.0.0). Besides
the documents every face encodes, it renders the landing page, the conformance declaration and
job lists, which only this face has.
"""

from __future__ import annotations

from app.model.codec import Operation, ProcessLookup
from app.model.descriptions import Offering
from app.model.errors import WpsError
from app.model.jobs import JobPage, JobQuery, JobReport, JobStatus
from app.model.rendering import TileSet
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, GetCapabilitiesRequest, JobRequest
from app.ogcapi import decode, describe, encode
from app.ogcapi.calls import ApiCall, ExecuteCall, JobListCall, ProcessCall, ProcessListCall
from app.ogcapi.links import REL, link, page_links, url
from app.ogcapi.models import ConfClasses, JobList, LandingPage, Link, ProcessList
from app.ogcapi.problems import error_problem
from app.ogcapi.replies import json_reply
from app.ogcapi.tilejson import tilejson
from app.settings import Settings

VERSION = "1.0.0"
CONFORMANCE = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
NESTED_PROCESSES = "http://www.opengis.net/spec/ogcapi-processes-3/0.0/conf/nested-processes"  # Part 3
CONFORMANCE_CLASSES = (
    *(
        CONFORMANCE + name
        for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss")
    ),
    NESTED_PROCESSES,
)
OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


class Codec:
    """OGC API - Processes - Part 1: Core 1.0 (OGC 18-062r2), JSON."""

    face = "ogcapi"
    version = VERSION

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def decode(self, call: ApiCall, processes: ProcessLookup) -> Operation:
        """The operation a resource call stands for."""
        if isinstance(call, ProcessListCall):
            return GetCapabilitiesRequest(offset=call.offset, limit=call.limit)
        if isinstance(call, ProcessCall):
            return DescribeProcessRequest(version=decode.VERSION, identifiers=(call.process_id,))
        if isinstance(call, ExecuteCall):
            nesting = decode.Nesting(processes, self.settings.public_url, self.settings.max_nesting)
            return decode.execute_request(call.body, processes(call.process_id), call.asynchronous, nesting)
        return JobRequest(version=decode.VERSION, job_id=call.job_id, operation=call.operation)

    def job_query(self, call: JobListCall) -> JobQuery:
        """The job list's filters: statuses by their OGC names, only jobs of type ``process`` exist."""
        listed = tuple(status for status in JobStatus if status is not JobStatus.DISMISSED)
        statuses = tuple(encode.NEUTRAL_STATUS[name] for name in call.status) or listed
        if call.types is not None and "process" not in call.types:
            statuses = ()
        return JobQuery(statuses=statuses, process_ids=call.process_ids, limit=call.limit, offset=call.offset)

    def capabilities(self, offering: Offering) -> Reply:
        """The process list: one page of summaries, with paging links."""
        limit = offering.limit or len(offering.processes)
        document = ProcessList(
            processes=[describe.summary(d, self.settings) for d in offering.processes],
            links=page_links(self.settings, "/processes", limit, offering.offset, offering.more),
        )
        return json_reply(document)

    def descriptions(self, offering: Offering) -> Reply:
        """One process description (the resource names exactly one process)."""
        (process,) = offering.processes
        return json_reply(describe.process(process, self.settings))

    def accepted(self, report: JobReport) -> Reply:
        """201 Created: the new job's statusInfo, its URL in ``Location``."""
        headers = {
            "Location": url(self.settings, f"/jobs/{report.info.job_id}"),
            "Preference-Applied": "respond-async",
        }
        return json_reply(encode.status_info(report.info, self.settings), 201, headers)

    def status(self, report: JobReport) -> Reply:
        """A job's statusInfo."""
        outputs = report.result.outputs if report.result is not None else ()
        return json_reply(encode.status_info(report.info, self.settings, outputs))

    def result(self, report: JobReport) -> Reply:
        """The results, as the execute request asked for them (``raw`` or ``document``)."""
        assert report.result is not None
        return encode.results(report.result)

    def tilejson(self, tile_set: TileSet, bands_asked: bool) -> Reply:
        """The TileJSON of a raster output's map tiles."""
        return json_reply(tilejson(tile_set, self.settings, bands_asked))

    def exception(self, error: WpsError, status: int, where: str | None = None) -> Reply:
        """A problem+json document; ``where`` is the path of the request (its ``instance``)."""
        return error_problem(error, status, where)

    def job_list(self, page: JobPage, call: JobListCall) -> Reply:
        """A page of jobs with ``next``/``prev`` links that keep the filters as the client gave them."""
        filters = {"status": list(call.status), "processID": list(call.process_ids), "type": call.types}
        document = JobList(
            jobs=[encode.status_info(info, self.settings) for info in page.jobs],
            links=page_links(self.settings, "/jobs", call.limit, call.offset, page.more, **filters),
        )
        return json_reply(document)

    def landing(self) -> Reply:
        """The landing page: links to the API definition, conformance, processes, jobs and WPS."""
        settings = self.settings
        links = [
            link(settings, "/", "self", title="this document"),
            link(settings, "/openapi.json", "service-desc", OPENAPI_MEDIA_TYPE, "the API definition"),
            link(settings, "/docs", "service-doc", "text/html", "the API documentation"),
            link(settings, "/conformance", REL + "conformance", title="conformance classes implemented"),
            link(settings, "/processes", REL + "processes", title="the processes offered"),
            link(settings, "/jobs", REL + "job-list", title="the jobs"),
            Link(
                href=f"{settings.wps_url}?service=WPS&request=GetCapabilities",
                rel="alternate",
                type="text/xml",
                title="the same processes over OGC WPS 1.0.0 and 2.0.0",
            ),
        ]
        page = LandingPage(
            title=settings.service_title,
            description="Raster geoprocessing over OGC API - Processes and OGC WPS 1.0.0 / 2.0.0.",
            links=links,
        )
        return json_reply(page)

    def conformance(self) -> Reply:
        """The conformance classes this service implements."""
        return json_reply(ConfClasses(conformsTo=list(CONFORMANCE_CLASSES)))
