"""Decode, call the service, encode: the one path every request of every face takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from app.api.access import Gate
from app.api.documents import RenderedDocuments
from app.api.observation import label_message, label_operation
from app.model.codec import Codec, Operation
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest
from app.model.users import Principal
from app.service.operations import WpsService


@dataclass(frozen=True)
class Exchange:
    """The service and the discovery documents already rendered, as every route uses them."""

    service: WpsService
    gate: Gate
    documents: RenderedDocuments = field(default_factory=RenderedDocuments)

    async def respond(self, codec: Codec[Any], message: Any, caller: Principal | None) -> Reply:
        """``answer`` for async routes: a discovery document already rendered is served at once;
        anything else (a job, a store read, a first rendering) runs in the thread pool."""
        operation = self._decode(codec, message)
        cached = self.documents.cached(codec, operation)
        if cached is not None:
            return cached
        return await run_in_threadpool(self.perform, codec, operation, caller)

    def answer(self, codec: Codec[Any], message: Any, caller: Principal | None) -> Reply:
        """The reply to a request: decoded by ``codec``, run by the service, encoded by the same codec."""
        return self.perform(codec, self._decode(codec, message), caller)

    def _decode(self, codec: Codec[Any], message: Any) -> Operation:
        """The request decoded; the request's metric labels set before (decoding may fail) and after."""
        label_message(codec.face, message, self.service.registered)
        operation = codec.decode(message, self.service.process)
        label_operation(codec.face, operation, self.service.registered)
        return operation

    def perform(self, codec: Codec[Any], operation: Operation, caller: Principal | None) -> Reply:
        """Admit the caller, call the service operation a decoded request names, encode its outcome.

        Discovery is public; everything else runs as the admitted user (see app/api/access.py).
        """
        service = self.service
        discovery = isinstance(operation, GetCapabilitiesRequest | DescribeProcessRequest)
        user = self.gate.admit(caller, public=discovery)
        if isinstance(operation, GetCapabilitiesRequest):
            request = operation
            return self.documents.reply(codec, request, lambda: codec.capabilities(service.offering(request)))
        if isinstance(operation, DescribeProcessRequest):
            asked = operation
            return self.documents.reply(codec, asked, lambda: codec.descriptions(service.describe(asked)))
        if isinstance(operation, ExecuteRequest):
            if operation.response.mode == "sync":
                return codec.result(service.execute(operation, user))
            return codec.accepted(service.submit(operation, user))
        if operation.operation == "result":
            return codec.result(service.result(operation.job_id, user))
        if operation.operation == "dismiss":
            return codec.status(service.dismiss(operation.job_id, user))
        return codec.status(service.status(operation.job_id, user))
