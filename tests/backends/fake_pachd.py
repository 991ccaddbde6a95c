"""An in-process gRPC server that speaks pachd's wire protocol, for contract tests.

It registers generic handlers for the pachd methods the Pachyderm backend calls, decodes every
request with pachyderm_sdk's own betterproto classes and records it as (method path, message), so
tests assert what went over the wire. It keeps just enough PFS state (fake_pfs.py) for an upload
to be read back, answers PPS calls from scripted data (fake_pps.py), can turn auth on, and can
fail any method with a status code, immediately or after N streamed messages (a stream that
breaks midway). Where it answers as pachd 2.12 does, the pachd source line is cited.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from betterproto.lib.google.protobuf import Empty
from pachyderm_sdk.api import auth
from pachyderm_sdk.api.version import Version

# The halves live next to this file; tests import it as `fake_pachd` or `tests.backends.fake_pachd`.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_pfs import FakeCommit, FakePfs
from fake_pps import FakePps, job

__all__ = ["Failure", "FakeCommit", "FakePachd", "job"]

# Methods pachd's auth interceptor lets through without a token
# (src/internal/middleware/auth/interceptor.go:41 and :292).
UNAUTHENTICATED_METHODS = frozenset({"/versionpb_v2.API/GetVersion", "/auth_v2.API/WhoAmI"})


@dataclass
class Failure:
    """Abort `method` with `code` after `after` streamed messages (0: at once), `times` times."""

    code: grpc.StatusCode
    message: str
    after: int = 0
    times: int | None = None


class FakePachd(FakePfs, FakePps):
    """Start with `FakePachd()`, point a client at `fake.address`, `stop()` at the end."""

    def __init__(self, version: tuple[int, int, int] = (2, 12, 2), additional: str = "") -> None:
        FakePfs.__init__(self)
        FakePps.__init__(self)
        self.version = version
        self.additional = additional  # GetVersion's tag: "capstone" plays `capstone serve`
        self.auth_tokens: dict[str, str] | None = None  # token -> user; None: auth not activated
        self.requests: list[tuple[str, Any]] = []
        self.metadata: list[dict[str, str]] = []  # invocation metadata of every call
        self.streams_opened: dict[str, int] = {}  # client-streaming calls per method
        self.delays: dict[str, float] = {}  # method path -> seconds to stall before answering
        self.failures: dict[str, Failure] = {}
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers(self._handlers())
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)

    # -- test helpers ----------------------------------------------------------------------
    def fail(self, method: str, code: grpc.StatusCode, message: str, **kw: Any) -> None:
        self.failures[method] = Failure(code, message, **kw)

    def calls(self, method: str) -> list[Any]:
        """Recorded messages of one method (a short name like "FinishCommit" or a full path)."""
        return [msg for path, msg in self.requests if path == method or path.endswith("/" + method)]

    def methods(self) -> list[str]:
        return [path.rsplit("/", 1)[1] for path, _ in self.requests]

    # -- plumbing --------------------------------------------------------------------------
    def _record(self, method: str, request: Any) -> None:
        with self.lock:
            self.requests.append((method, request))

    def _check(self, method: str, context: grpc.ServicerContext, sent: int = 0) -> None:
        if sent == 0:
            refusal = self._auth_refusal(method, context)
            if refusal:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, refusal)
        failure = self.failures.get(method)
        if failure is None or sent < failure.after:
            return
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self.failures[method]
        context.abort(failure.code, failure.message)

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        table: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        methods = {
            "/versionpb_v2.API/GetVersion": ("uu", Empty, self.get_version),
            "/auth_v2.API/WhoAmI": ("uu", auth.WhoAmIRequest, self.who_am_i),
            **self.pfs_methods(),
            **self.pps_methods(),
        }
        for path, (kind, request_cls, impl) in methods.items():
            service, method = path.strip("/").split("/")
            table.setdefault(service, {})[method] = self._handler(path, kind, request_cls, impl)
        return [grpc.method_handlers_generic_handler(s, m) for s, m in table.items()]

    def _handler(
        self, path: str, kind: str, request_cls: type[Any], impl: Callable[..., Any]
    ) -> grpc.RpcMethodHandler:
        parse = request_cls.FromString

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
            self._record(path, request)
            time.sleep(self.delays.get(path, 0.0))
            self._check(path, context)
            return impl(request, context)

        def server_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            self._record(path, request)
            self._check(path, context)
            sent = 0
            for item in impl(request, context):
                self._check(path, context, sent)
                yield item
                sent += 1
            self._check(path, context, sent)

        def client_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            received: list[Any] = []
            self.streams_opened[path] = self.streams_opened.get(path, 0) + 1
            self._check(path, context)
            for request in requests:
                self._record(path, request)
                received.append(request)
                self._check(path, context, len(received))
            self._check(path, context, len(received))
            return impl(received, context)

        if kind == "uu":
            return grpc.unary_unary_rpc_method_handler(unary, parse, bytes)
        if kind == "us":
            return grpc.unary_stream_rpc_method_handler(server_stream, parse, bytes)
        return grpc.stream_unary_rpc_method_handler(client_stream, parse, bytes)

    # -- version and auth ------------------------------------------------------------------
    def get_version(self, _: Empty, __: Any) -> Version:
        major, minor, micro = self.version
        return Version(major=major, minor=minor, micro=micro, additional=self.additional)

    def _token_refusal(self, context: grpc.ServicerContext) -> str | None:
        """Why the call's token is refused: none is ErrNotSignedIn (auth/auth.go:136), an
        unknown one ErrBadToken (auth.go:144); None when it is valid."""
        token = dict(context.invocation_metadata()).get("authn-token")
        if not token:
            return "no authentication token (try logging in)"
        if self.auth_tokens is not None and token not in self.auth_tokens:
            return "provided auth token is corrupted or has expired (try logging in again)"
        return None

    def _auth_refusal(self, method: str, context: grpc.ServicerContext) -> str | None:
        """pachd's auth interceptor: with auth on, every method but GetVersion and WhoAmI
        needs a valid token (internal/middleware/auth/interceptor.go:41, :292)."""
        if self.auth_tokens is None or method in UNAUTHENTICATED_METHODS:
            return None
        return self._token_refusal(context)

    def who_am_i(self, _: auth.WhoAmIRequest, ctx: grpc.ServicerContext) -> Any:
        # auth/server/api_server.go:832-844: not activated is ErrNotActivated, code
        # UNIMPLEMENTED (auth.go:126); otherwise the caller's token decides.
        if self.auth_tokens is None:
            ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "the auth service is not activated")
        refusal = self._token_refusal(ctx)
        if refusal:
            ctx.abort(grpc.StatusCode.UNAUTHENTICATED, refusal)
        token = dict(ctx.invocation_metadata())["authn-token"]
        assert self.auth_tokens is not None
        return auth.WhoAmIResponse(username=self.auth_tokens[token])
