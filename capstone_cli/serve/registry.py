"""pachd's gRPC method table, read from pachyderm_sdk's generated stubs (no protoc, no .proto).

Each generated `ApiStub.__init__` names its methods as `channel.unary_stream("/pfs_v2.API/ListRepo",
request_serializer=ListRepoRequest.SerializeToString, response_deserializer=RepoInfo.FromString)`.
Reading those lines gives the exact method paths and betterproto message classes the clients use,
so the server speaks the same wire format as the SDK installed next to it, one fact in one place.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

_CALL = re.compile(
    r"channel\.(unary_unary|unary_stream|stream_unary|stream_stream)\(\s*"
    r"\"(/[\w.]+/(\w+))\",\s*request_serializer=([\w.]+)\.SerializeToString,\s*"
    r"response_deserializer=([\w.]+)\.FromString"
)


@dataclass(frozen=True)
class Method:
    kind: str  # unary_unary | unary_stream | stream_unary | stream_stream
    path: str  # "/pfs_v2.API/CreateRepo"
    name: str  # "CreateRepo"
    request: type[Any]
    response: type[Any]


def _resolve(module: Any, dotted: str) -> type[Any]:
    obj: Any = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def methods(api_module: str) -> list[Method]:
    """The methods of one generated API module, e.g. `pachyderm_sdk.api.pfs`."""
    module = importlib.import_module(api_module)
    source = inspect.getsource(module)
    return [
        Method(kind, path, name, _resolve(module, req), _resolve(module, resp))
        for kind, path, name, req, resp in _CALL.findall(source)
    ]


def snake(name: str) -> str:
    """`CreateRepo` -> `create_repo`, `GetFileTAR` -> `get_file_tar` (servicer method names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def generic_handler(
    service: str, table: list[Method], servicer: object, wrap: Callable[..., Any]
) -> grpc.GenericRpcHandler:
    """A grpc handler serving every method of `table` that `servicer` implements.

    `wrap(fn, method)` turns a servicer method into a grpc behaviour (error mapping lives there).
    Methods the servicer lacks are left out, so grpc answers UNIMPLEMENTED for them.
    """
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    make = {
        "unary_unary": grpc.unary_unary_rpc_method_handler,
        "unary_stream": grpc.unary_stream_rpc_method_handler,
        "stream_unary": grpc.stream_unary_rpc_method_handler,
        "stream_stream": grpc.stream_stream_rpc_method_handler,
    }
    for m in table:
        fn = getattr(servicer, snake(m.name), None)
        if fn is None:
            continue
        handlers[m.name] = make[m.kind](
            wrap(fn, m),
            request_deserializer=m.request.FromString,  # a new message per call
            response_serializer=bytes,
        )
    return grpc.method_handlers_generic_handler(service, handlers)
