"""The service operations, protocol-neutral: describe, execute (sync/async), status, result, dismiss."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import rasterio.errors

from app.algorithms.registry import Registry
from app.jobs.context import JobContext
from app.jobs.engine import JobEngine
from app.model.descriptions import ProcessDescription
from app.model.errors import (
    DataNotAccessible,
    InvalidParameterValue,
    NoSuchJob,
    ResultNotReady,
    StorageNotSupported,
    VersionNegotiationFailed,
)
from app.model.jobs import JobInfo, JobStatus
from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest
from app.model.results import ExecuteResult
from app.service.checks import check_execute
from app.service.inputs import build_inputs
from app.service.outputs import deliver_outputs
from app.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("1.0.0", "2.0.0")
SUPPORTED_LANGUAGES = ("en-US",)


def negotiate_version(request: GetCapabilitiesRequest, default: str = "1.0.0") -> str:
    """The first version the client accepts that we offer; ``default`` when it names none."""
    if not request.accept_versions:
        return default
    for version in request.accept_versions:
        if version in SUPPORTED_VERSIONS:
            return version
    raise VersionNegotiationFailed(
        f"none of {', '.join(request.accept_versions)} is offered; supported: "
        + ", ".join(SUPPORTED_VERSIONS),
        locator="AcceptVersions",
    )


def check_language(language: str | None) -> str:
    """The response language: the default, or the one asked for if we speak it."""
    if language is None or not language.strip():
        return SUPPORTED_LANGUAGES[0]
    for supported in SUPPORTED_LANGUAGES:
        if language.lower() in {supported.lower(), supported.split("-")[0].lower()}:
            return supported
    raise InvalidParameterValue(f"language {language!r} is not supported", locator="language")


def check_version(version: str) -> str:
    """Refuse a request for a protocol version we do not speak."""
    if version not in SUPPORTED_VERSIONS:
        raise InvalidParameterValue(f"version {version!r} is not supported", locator="version")
    return version


@dataclass(frozen=True)
class WpsService:
    """Operations shared by every protocol face: the registry, the settings and the job engine."""

    settings: Settings
    registry: Registry
    engine: JobEngine

    def describe(self, request: DescribeProcessRequest) -> list[ProcessDescription]:
        """Descriptions of the named processes (``ALL`` = every process)."""
        check_version(request.version)
        check_language(request.language)
        if any(identifier.upper() == "ALL" for identifier in request.identifiers):
            return self.registry.descriptions()
        return [self.registry.describe(identifier) for identifier in request.identifiers]

    def prepare(self, request: ExecuteRequest) -> ProcessDescription:
        """Check a request against its process before anything runs; the process description."""
        check_version(request.version)
        check_language(request.language)
        description = self.registry.describe(request.identifier)
        _check_response_form(request, description)
        check_execute(request, description)
        return description

    def execute(self, request: ExecuteRequest) -> ExecuteResult:
        """Run a job and wait for it (it still takes a slot of the bounded pool)."""
        description = self.prepare(request)
        return self.engine.run(request, lambda context: self._run(request, description, context))

    def submit(self, request: ExecuteRequest) -> JobInfo:
        """Queue a job and return at once with its record."""
        description = self.prepare(request)
        return self.engine.submit(request, lambda context: self._run(request, description, context))

    def status(self, job_id: str) -> JobInfo:
        """A job's record; NoSuchJob when unknown or dismissed."""
        info = self.engine.store.get(job_id) if _plausible_job_id(job_id) else None
        if info is None or info.status is JobStatus.DISMISSED:
            raise NoSuchJob(f"no job {job_id!r}", locator=job_id)
        return info

    def result(self, job_id: str) -> ExecuteResult:
        """The result of a succeeded job; ResultNotReady while it runs, NoSuchJob once expired.

        A failed job answers with the exception it failed with.
        """
        info = self.status(job_id)
        if info.expired:
            raise NoSuchJob(f"the results of job {job_id!r} expired", locator=job_id)
        if not info.status.finished:
            raise ResultNotReady(f"job {job_id!r} has not finished", locator=job_id)
        if info.error is not None:  # failed: GetResult reports the job's own exception
            error = info.error
            raise error.exception()
        result = self.engine.store.result(job_id)
        if result is None:
            raise NoSuchJob(f"job {job_id!r} has no result", locator=job_id)
        return result

    def dismiss(self, job_id: str) -> JobInfo:
        """Stop a job and delete its results; its record afterwards."""
        self.status(job_id)
        self.engine.dismiss(job_id)
        info = self.engine.store.get(job_id)
        assert info is not None
        return info

    def request_of(self, job_id: str) -> ExecuteRequest:
        """The request a job was submitted with."""
        request = self.engine.store.request(job_id)
        if request is None:
            raise NoSuchJob(f"no job {job_id!r}", locator=job_id)
        return request

    def _run(
        self, request: ExecuteRequest, description: ProcessDescription, context: JobContext
    ) -> ExecuteResult:
        """The body of a job: open inputs lazily, build the graph, write and deliver the outputs."""
        process = self.registry.get(request.identifier)
        try:
            inputs = build_inputs(process, request, self.settings, context.workdir)
            context.check()
            produced = process().run(inputs)
            outputs = deliver_outputs(produced, request, description, self.settings, context)
        except rasterio.errors.RasterioIOError as exc:
            log.warning("job %s: raster read failed: %s", context.job_id, exc)
            raise DataNotAccessible("an input raster could not be read while processing") from exc
        return ExecuteResult(job_id=context.job_id, request=request, process=description, outputs=outputs)


def _check_response_form(request: ExecuteRequest, description: ProcessDescription) -> None:
    form = request.response
    if form.store and not description.store_supported:
        raise StorageNotSupported(
            f"process {description.identifier!r} cannot store its response", locator="storeExecuteResponse"
        )
    if form.status and not form.store:
        raise InvalidParameterValue("status=true requires storeExecuteResponse=true", locator="status")


def _plausible_job_id(job_id: str) -> bool:
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
