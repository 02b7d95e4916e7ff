"""The one interface every face implements: WPS 1.0.0, WPS 2.0.0 and OGC API - Processes.

A codec decodes what a client sent into the model (an ``Operation``) and encodes what the service
answered (capabilities, descriptions, job status, results, exceptions) into a ``Reply``. It knows
its protocol's documents and nothing else: not HTTP frameworks, not rasters, not the job store.
Each face reads its requests from its own message type (WPS: KVP or an XML document; OGC API: the
resource and its JSON body), hence the type parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from app.model.descriptions import Offering, ProcessDescription
from app.model.errors import WpsError
from app.model.jobs import JobReport
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest, JobRequest

Operation = GetCapabilitiesRequest | DescribeProcessRequest | ExecuteRequest | JobRequest
ProcessLookup = Callable[[str], ProcessDescription]  # NoSuchProcess for an unknown identifier

MessageT_contra = TypeVar("MessageT_contra", contravariant=True)


class Codec(Protocol[MessageT_contra]):
    """Requests in, documents out, for one face at one protocol version."""

    face: str  # the face's name in metrics and logs: "wps1", "wps2", "ogcapi"
    version: str  # the protocol version it speaks

    def decode(self, message: MessageT_contra, processes: ProcessLookup) -> Operation:
        """The operation a client asked for; ``processes`` tells how to read an Execute's inputs."""
        ...

    def capabilities(self, offering: Offering) -> Reply:
        """The capabilities document (the process list on the OGC API face)."""
        ...

    def descriptions(self, offering: Offering) -> Reply:
        """The full descriptions of the processes asked for."""
        ...

    def accepted(self, report: JobReport) -> Reply:
        """The answer to an asynchronous Execute: the new job's status."""
        ...

    def status(self, report: JobReport) -> Reply:
        """A job's status document (also after Dismiss)."""
        ...

    def result(self, report: JobReport) -> Reply:
        """A finished job's results: a synchronous Execute's answer and GetResult's."""
        ...

    def exception(self, error: WpsError, status: int, where: str | None = None) -> Reply:
        """An error as this face reports it, with the HTTP status the API layer chose.

        ``where`` is the path of the failed request, for faces whose reports name it.
        """
        ...
