"""Decode, call the service, encode: the one path every request of every face takes."""

from __future__ import annotations

from typing import Any

from app.model.codec import Codec, Operation
from app.model.replies import Reply
from app.model.requests import DescribeProcessRequest, ExecuteRequest, GetCapabilitiesRequest
from app.service.operations import WpsService


def answer(codec: Codec[Any], message: Any, service: WpsService) -> Reply:
    """The reply to a request: decoded by ``codec``, run by the service, encoded by the same codec."""
    return perform(codec, codec.decode(message, service.process), service)


def perform(codec: Codec[Any], operation: Operation, service: WpsService) -> Reply:
    """Call the service operation a decoded request names and encode its outcome."""
    if isinstance(operation, GetCapabilitiesRequest):
        return codec.capabilities(service.offering(operation))
    if isinstance(operation, DescribeProcessRequest):
        return codec.descriptions(service.describe(operation))
    if isinstance(operation, ExecuteRequest):
        if operation.response.mode == "sync":
            return codec.result(service.execute(operation))
        return codec.accepted(service.submit(operation))
    if operation.operation == "result":
        return codec.result(service.result(operation.job_id))
    if operation.operation == "dismiss":
        return codec.status(service.dismiss(operation.job_id))
    return codec.status(service.status(operation.job_id))
