"""Errors as pachd answers them: capstone's exceptions -> gRPC status codes and messages.

Clients branch on the code (pachyderm_sdk's `repo_exists` is `code == NOT_FOUND`) and match on
pachd's message text (e.g. "parent commit ... has not been finished"), so handlers raise
capstone's own errors with pachd's wording and this module picks the code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from capstone_cli.errors import (
    CapstoneError,
    ConflictError,
    InputError,
    NotFoundError,
    SpecError,
    StoreBusyError,
    UsageError,
)

log = logging.getLogger("capstone.serve")


class PreconditionError(CapstoneError):
    """FAILED_PRECONDITION: the request is valid but the state forbids it (pachd's wording)."""


class UnimplementedError(CapstoneError):
    """UNIMPLEMENTED: a field or mode of a served method that capstone does not serve."""


_CODES: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (PreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (UnimplementedError, grpc.StatusCode.UNIMPLEMENTED),
    (UsageError, grpc.StatusCode.INVALID_ARGUMENT),
    (SpecError, grpc.StatusCode.INVALID_ARGUMENT),
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
    (StoreBusyError, grpc.StatusCode.UNAVAILABLE),
]


def code_for(exc: BaseException) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.UNKNOWN


def _abort(context: grpc.ServicerContext, exc: BaseException) -> None:
    if isinstance(exc, CapstoneError):
        log.debug("answered %s", code_for(exc), exc_info=exc)
        context.abort(code_for(exc), exc.message)
    log.exception("internal error")
    context.abort(grpc.StatusCode.INTERNAL, f"internal error: {exc!r}")


def wrap(fn: Callable[..., Any], method: Any) -> Callable[..., Any]:
    """A grpc behaviour calling `fn(request, context)`, mapping raised errors to statuses."""
    if method.kind.endswith("stream"):

        def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                yield from fn(request, context)
            except Exception as exc:  # every error becomes a status, never a dropped stream
                _abort(context, exc)

        return streaming

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(request, context)
        except Exception as exc:
            _abort(context, exc)

    return unary
