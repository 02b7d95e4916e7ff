"""Decode, call the service, encode: the one path every request of every face takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from app.api.documents import RenderedDocuments
from app.model.codec import Codec, Operation
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest
from app.service.operations import WpsService


@dataclass(frozen=True)
class Exchange:
    """The service and the discovery documents already rendered, as every route uses them."""

    service: WpsService
    documents: RenderedDocuments = field(default_factory=RenderedDocuments)

    async def respond(self, codec: Codec[Any], message: Any) -> Reply:
        """``answer`` for async routes: a discovery document already rendered is served at once;
        anything else (a job, a store read, a first rendering) runs in the thread pool."""
        operation = codec.decode(message, self.service.process)
        cached = self.documents.cached(codec, operation)
        if cached is not None:
            return cached
        return await run_in_threadpool(self.perform, codec, operation)

    def answer(self, codec: Codec[Any], message: Any) -> Reply:
        """The reply to a request: decoded by ``codec``, run by the service, encoded by the same codec."""
        return self.perform(codec, codec.decode(message, self.service.process))

    def perform(self, codec: Codec[Any], operation: Operation) -> Reply:
        """Call the service operation a decoded request names and encode its outcome."""
        service = self.service
        if isinstance(operation, GetCapabilitiesRequest):
            request = operation
            return self.documents.reply(codec, request, lambda: codec.capabilities(service.offering(request)))
        if isinstance(operation, DescribeProcessRequest):
            asked = operation
            return self.documents.reply(codec, asked, lambda: codec.descriptions(service.describe(asked)))
        if isinstance(operation, ExecuteRequest):
            if operation.response.mode == "sync":
                return codec.result(service.execute(operation))
            return codec.accepted(service.submit(operation))
        if operation.operation == "result":
            return codec.result(service.result(operation.job_id))
        if operation.operation == "dismiss":
            return codec.status(service.dismiss(operation.job_id))
        return codec.status(service.status(operation.job_id))
