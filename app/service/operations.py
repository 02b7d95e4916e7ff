"""The operations every face calls, protocol-neutral; the only door to the registry, jobs and rasters.

Capabilities and descriptions, execute (sync) and submit (async), a job's status, results and
dismissal, the map tiles of its raster results, the job list, job counts and readiness. Faces
decode their requests into the model, call one of these, and encode what it returns; none of them
touches the job store or the engine.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio.errors
import xarray as xr
from dask.base import is_dask_collection

from app.algorithms.registry import Registry
from app.jobs.context import JobContext
from app.jobs.engine import JobEngine
from app.model.descriptions import Offering, ProcessDescription
from app.model.errors import DataNotAccessible, NoSuchJob, NotReady, ResultNotReady, WpsError
from app.model.jobs import JobCounts, JobInfo, JobPage, JobQuery, JobReport, JobStatus
from app.model.rendering import Rendering, TileSet
from app.model.requests import (
    DescribeProcessRequest,
    ExecuteRequest,
    GetCapabilitiesRequest,
    LiteralValue,
    NestedProcess,
)
from app.model.results import ComplexResult, ExecuteResult
from app.model.users import ANONYMOUS, Principal
from app.raster import tiles
from app.service.checks import check_language, choose_language
from app.service.inputs import build_inputs
from app.service.metadata import check_update_sequence
from app.service.nesting import check_tree, used_output
from app.service.outputs import deliver_outputs
from app.service.reports import reported_error, with_polling_hints
from app.settings import Settings

log = logging.getLogger(__name__)
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")  # a result file's name: no folders
INPUTS_FOLDER = "inputs"  # a job's downloaded and inline inputs, deleted when the job ends


@dataclass(frozen=True)
class WpsService:
    """Operations shared by every protocol face: the registry, the settings and the job engine."""

    settings: Settings
    registry: Registry
    engine: JobEngine
    update_sequence: str | None = None  # of the service metadata (see service/metadata.py)

    # ------------------------------------------------------------------ processes

    def offering(self, request: GetCapabilitiesRequest) -> Offering:
        """The processes offered (one page of them when the request pages), in the language asked.

        A GetCapabilities naming the current updateSequence, or a later one, is refused instead.
        """
        if self.update_sequence is not None:
            check_update_sequence(request.update_sequence, self.update_sequence)
        if request.accept_languages:
            language = choose_language(request.accept_languages)
        else:
            language = check_language(request.language)
        everything = self.registry.descriptions()
        end = len(everything) if request.limit is None else request.offset + request.limit
        return Offering(
            processes=tuple(everything[request.offset : end]),
            language=language,
            offset=request.offset,
            limit=request.limit,
            more=end < len(everything),
            update_sequence=self.update_sequence,
        )

    def describe(self, request: DescribeProcessRequest) -> Offering:
        """Descriptions of the named processes (``ALL`` = every process)."""
        language = check_language(request.language)
        if any(identifier.upper() == "ALL" for identifier in request.identifiers):
            return Offering(processes=tuple(self.registry.descriptions()), language=language)
        described = tuple(self.registry.describe(identifier) for identifier in request.identifiers)
        return Offering(processes=described, language=language)

    def registered(self, identifier: str) -> bool:
        """Whether a process of that identifier is offered."""
        return identifier in self.registry

    def process(self, identifier: str) -> ProcessDescription:
        """One process's description; NoSuchProcess when it is not offered."""
        return self.registry.describe(identifier)

    # ------------------------------------------------------------------ execution

    def execute(self, request: ExecuteRequest, user: Principal = ANONYMOUS) -> JobReport:
        """Run a job of ``user`` and wait for it (it still takes a slot of the bounded pool)."""
        description = self._prepare(request)
        runner = self._runner(request, description)
        result = self.engine.run(request, runner, owner=user.name)
        return self._report(self._record(result.job_id, user), result=result)

    def submit(self, request: ExecuteRequest, user: Principal = ANONYMOUS) -> JobReport:
        """Queue a job of ``user`` and return at once with its record."""
        description = self._prepare(request)
        info = self.engine.submit(request, self._runner(request, description), owner=user.name)
        return self._report(info)

    # ------------------------------------------------------------------ jobs

    def status(self, job_id: str, user: Principal = ANONYMOUS) -> JobReport:
        """A job's status (with polling hints while it runs); NoSuchJob when unknown or dismissed.

        Another user's job is unknown too: same error, same message, as for an id never seen.
        """
        return self._report(self._record(job_id, user))

    def result(self, job_id: str, user: Principal = ANONYMOUS) -> JobReport:
        """A succeeded job's results; ResultNotReady while it runs, NoSuchJob once expired.

        A failed job answers with the exception it failed with.
        """
        info = self._record(job_id, user)
        if info.expired:
            raise NoSuchJob(f"the results of job {job_id!r} expired", locator=job_id)
        if not info.status.finished:
            raise ResultNotReady(f"job {job_id!r} has not finished", locator=job_id)
        if info.error is not None:  # failed: GetResult reports the job's own exception
            raise info.error.exception()
        report = self._report(info)
        if report.result is None:
            raise NoSuchJob(f"job {job_id!r} has no result", locator=job_id)
        return report

    def dismiss(self, job_id: str, user: Principal = ANONYMOUS) -> JobReport:
        """Stop a job and delete its results; its record afterwards (status dismissed)."""
        before = self._record(job_id, user)
        self.engine.dismiss(job_id)
        info = self.engine.store.get(job_id)
        assert info is not None
        return JobReport(info=info, request=self._request(before), process=self._process_of(before))

    def list_jobs(self, query: JobQuery, user: Principal = ANONYMOUS) -> JobPage:
        """A page of ``user``'s jobs (everybody's for an admin), newest first, never dismissed ones."""
        statuses = tuple(status for status in query.statuses if status is not JobStatus.DISMISSED)
        if not statuses:
            return JobPage(query=query, jobs=())
        owner = None if user.admin else user.name
        found = self.engine.store.list_jobs(
            statuses, query.process_ids, limit=query.limit + 1, offset=query.offset, owner=owner
        )
        return JobPage(query=query, jobs=tuple(found[: query.limit]), more=len(found) > query.limit)

    def counts(self) -> JobCounts:
        """Jobs in the store by state, and jobs running or queued in this process."""
        return JobCounts(by_status=self.engine.store.count_by_status(), active=self.engine.running())

    def check_ready(self) -> None:
        """NotReady unless a result file can be written (a real write), the job store answers a
        query and, with a cluster configured, its scheduler answers (readiness)."""
        try:
            self.settings.outputs_dir.mkdir(parents=True, exist_ok=True)
            probe = self.settings.outputs_dir / f".ready-{os.getpid()}"
            with probe.open("wb") as stream:
                stream.write(b"ready")
                stream.flush()
                os.fsync(stream.fileno())
            probe.unlink()
            self.engine.store.count_by_status()
        except Exception as exc:
            log.warning("not ready: %s", exc)
            raise NotReady("the service cannot record jobs or write results now") from exc
        try:
            self.engine.executor.check()
        except WpsError as exc:
            log.warning("not ready: %s", exc.message)
            raise NotReady(f"the dask scheduler does not answer: {exc.message}") from exc

    # ------------------------------------------------------------------ internals

    def _prepare(self, request: ExecuteRequest) -> ProcessDescription:
        """Check a request against its process before anything runs; the process description."""
        check_language(request.language)
        description = self.registry.describe(request.identifier)
        check_tree(request, description, self.registry.describe, self.settings.max_nesting)
        return description

    def result_file(self, job_id: str, name: str, user: Principal = ANONYMOUS) -> Path:
        """A result file of a job ``user`` may see; NoSuchJob for anything else (never a path escape)."""
        self._record(job_id, user)
        root = self.settings.outputs_dir.resolve()
        path = (root / job_id / name).resolve()
        if not _FILE_NAME.match(name) or path.parent != root / job_id or not path.is_file():
            raise NoSuchJob(f"no result {name!r} of job {job_id!r}", locator=job_id)
        return path

    # ------------------------------------------------------------------ map tiles

    def tile_set(
        self,
        job_id: str,
        output: str,
        asked: Rendering,
        bands: tuple[int, ...] | None = None,
        user: Principal = ANONYMOUS,
    ) -> TileSet:
        """What a TileJSON says of a raster output's tiles, its rendering resolved (see ``tile``)."""
        path, title, style = self._raster_output(job_id, output, asked, bands, user)
        return tiles.tile_set(path, job_id, output, title, style)

    def tile(
        self,
        job_id: str,
        output: str,
        zxy: tuple[int, int, int],
        asked: Rendering,
        bands: tuple[int, ...] | None = None,
        user: Principal = ANONYMOUS,
    ) -> bytes:
        """One WebMercatorQuad PNG tile of a succeeded job's raster output ``user`` may see.

        What ``asked`` leaves open comes from the process's defaults for that output, then from
        the data. NoSuchJob for anything that is not such an output (another user's included),
        ResultNotReady while the job runs.
        """
        tiles.check_tile(*zxy)
        path, _, style = self._raster_output(job_id, output, asked, bands, user)
        return tiles.render_tile(path, *zxy, style)

    def _raster_output(
        self, job_id: str, output: str, asked: Rendering, bands: tuple[int, ...] | None, user: Principal
    ) -> tuple[Path, str, tiles.Style]:
        """The file, title and resolved style of a raster output of a job ``user`` may see."""
        info = self._record(job_id, user)
        if not info.status.finished and not info.expired:
            raise ResultNotReady(f"job {job_id!r} has not finished", locator=job_id)
        result = self.engine.store.result(job_id) if info.status is JobStatus.SUCCEEDED else None
        delivered = (
            next((o for o in result.outputs if o.description.identifier == output), None) if result else None
        )
        file = delivered.result if delivered is not None and not info.expired else None
        path = file.raster_file if isinstance(file, ComplexResult) else None
        if delivered is None or path is None:
            raise NoSuchJob(f"job {job_id!r} has no raster output {output!r}", locator=output)
        if not path.is_file():
            raise NoSuchJob(f"the raster output {output!r} of job {job_id!r} is gone", locator=output)
        assert result is not None  # delivered came from it
        literals = {name: v.value for name, v in result.request.inputs if isinstance(v, LiteralValue)}
        defaults = self.registry.get(info.process_id).rendering(output, literals)
        return path, delivered.description.title, tiles.style_for(path, asked.over(defaults), bands)

    def _record(self, job_id: str, user: Principal = ANONYMOUS) -> JobInfo:
        """The record of a job ``user`` may see: their own (anonymous ones when anonymous), any for admins."""
        info = self.engine.store.get(job_id) if _plausible_job_id(job_id) else None
        if info is None or info.status is JobStatus.DISMISSED or not _visible(info, user):
            raise NoSuchJob(f"no job {job_id!r}", locator=job_id)
        return info

    def _request(self, info: JobInfo) -> ExecuteRequest:
        request = self.engine.store.request(info.job_id)
        if request is None:
            raise NoSuchJob(f"no job {info.job_id!r}", locator=info.job_id)
        return request

    def _process_of(self, info: JobInfo) -> ProcessDescription:
        return self.registry.describe(info.process_id)

    def _report(self, info: JobInfo, result: ExecuteResult | None = None) -> JobReport:
        """Everything status documents show of a job, read from its record."""
        if result is None and info.status is JobStatus.SUCCEEDED and not info.expired:
            result = self.engine.store.result(info.job_id)
        return JobReport(
            info=with_polling_hints(info),
            request=self._request(info),
            process=self._process_of(info),
            result=result,
            error=reported_error(info),
        )

    def _run(
        self, request: ExecuteRequest, description: ProcessDescription, context: JobContext
    ) -> ExecuteResult:
        """The body of a job: open inputs lazily, build the graph, write and deliver the outputs.

        Inputs downloaded or written to disk go to a scratch folder inside the job's folder, which
        /outputs cannot serve (names there have no folders), and are deleted when the job ends.
        """
        process = self.registry.get(request.identifier)
        scratch = context.workdir / INPUTS_FOLDER

        def nested(value: NestedProcess, path: str) -> object:
            """A nested process's output, built into this job's graph (computed unless a raster)."""
            nested_process = self.registry.get(value.request.identifier)
            try:
                inputs = build_inputs(nested_process, value.request, self.settings, scratch, nested, path)
                output = used_output(value.request, self.registry.describe(nested_process.identifier))
                produced = nested_process().run(inputs)[output.identifier]
            except WpsError as error:
                raise error.within(path, nested_process.identifier) from None
            if isinstance(produced, xr.DataArray):
                if produced.ndim >= 2:
                    return produced  # a raster: lazy, part of this job's one graph
                produced = produced.data  # a reduction (e.g. changed_fraction): its value
            computed = context.compute(produced)[0] if is_dask_collection(produced) else produced
            if isinstance(computed, np.ndarray | np.generic) and computed.ndim == 0:
                return computed.item()  # a numpy scalar: the Python number it holds
            return computed

        try:
            inputs = build_inputs(process, request, self.settings, scratch, nested)
            context.check()
            produced = process().run(inputs)
            outputs = deliver_outputs(produced, request, description, self.settings, context)
        except rasterio.errors.RasterioIOError as exc:
            log.warning("job %s: raster read failed: %s", context.job_id, exc)
            raise DataNotAccessible("an input raster could not be read while processing") from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return ExecuteResult(job_id=context.job_id, request=request, process=description, outputs=outputs)

    def _runner(
        self, request: ExecuteRequest, description: ProcessDescription
    ) -> Callable[[JobContext], ExecuteResult]:
        return lambda context: self._run(request, description, context)


def _visible(info: JobInfo, user: Principal) -> bool:
    return user.admin or info.owner == user.name


def _plausible_job_id(job_id: str) -> bool:
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
