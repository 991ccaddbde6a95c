"""`capstone serve`: pachd's gRPC API on one CAPSTONE_HOME (see the package modules per service).

Services are looked up by the method paths of pachyderm_sdk's generated stubs (`registry`); a
method this server does not implement answers UNIMPLEMENTED, as a pachd without that feature
would. Auth, enterprise, identity, license and debug are not served.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any, NamedTuple

import grpc

from capstone_cli.errors import ConflictError
from capstone_cli.serve import registry, status
from capstone_cli.serve.home import Home
from capstone_cli.serve.misc import MetadataService, TransactionService, VersionService
from capstone_cli.serve.pfs_commits import CommitService
from capstone_cli.serve.pfs_files import FileService
from capstone_cli.serve.pfs_repos import RepoService
from capstone_cli.serve.pps import PipelineService

MAX_MESSAGE = 20 * 1024 * 1024  # pachyderm_sdk's MAX_RECEIVE_MESSAGE_SIZE


class _Merged:
    """Several servicer objects seen as one (pfs_v2.API spans repos, commits and files)."""

    def __init__(self, *parts: object) -> None:
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        for part in self._parts:
            fn = getattr(part, name, None)
            if fn is not None:
                return fn
        raise AttributeError(name)


class Served(NamedTuple):
    server: grpc.Server  # bound, not yet started
    port: int  # the bound port (port 0 asks for a free one)
    stop_jobs: Callable[[], None]  # the job runner takes no new job after this


def build_server(home_path: Path, host: str, port: int) -> Served:
    """A grpc server serving `home_path`, bound to host:port, with its job runner started."""
    home = Home(home_path)
    repos, commits, files = RepoService(home), CommitService(home), FileService(home)
    pfs_api = _Merged(repos, commits, files)
    pps_api = PipelineService(home)

    def dispatch(field: str, request: Any) -> Any:
        """Run one TransactionRequest field (e.g. `create_repo`) on the service that serves it."""
        fn = getattr(pfs_api, field, None) or getattr(pps_api, field, None)
        if fn is None:
            raise status.UnimplementedError(f"{field} in a transaction is not served")
        return fn(request, None)

    transactions = TransactionService(dispatch)

    def wrap(fn: Any, method: registry.Method) -> Any:
        return status.wrap(transactions.deferring(fn, method), method)

    services: dict[str, tuple[str, object]] = {
        "pfs_v2.API": ("pachyderm_sdk.api.pfs", pfs_api),
        "pps_v2.API": ("pachyderm_sdk.api.pps", pps_api),
        "versionpb_v2.API": ("pachyderm_sdk.api.version", VersionService()),
        "transaction_v2.API": ("pachyderm_sdk.api.transaction", transactions),
        "metadata.API": ("pachyderm_sdk.api.metadata", MetadataService(home)),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.so_reuseport", 0),  # a second server on a busy port must fail, not share it
        ],
    )
    for service, (module, servicer) in services.items():
        table = registry.methods(module)
        server.add_generic_rpc_handlers((registry.generic_handler(service, table, servicer, wrap),))
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpc >= 1.5x raises where older ones returned 0
        bound = 0
    if bound == 0:
        raise ConflictError(  # as `capstone ui`: a port in use is a conflict (exit 7)
            f"cannot listen on {host}:{port}: the address is in use or not local",
            hint="choose another --port, or stop what listens there",
        )
    pps_api.start_runner()
    return Served(server, bound, pps_api.stop.set)


def serve_forever(
    home_path: Path, host: str, port: int, on_ready: Callable[[int], None] | None = None
) -> None:
    """Serve until Ctrl-C; in-flight calls get 2 s to end. A job still running stops with the
    process: its finished datums are already in the store, and the next start resumes it."""
    served = build_server(home_path, host, port)
    served.server.start()
    if on_ready is not None:
        on_ready(served.port)
    try:
        served.server.wait_for_termination()
    except KeyboardInterrupt:
        pass  # Ctrl-C: stop below
    finally:
        served.stop_jobs()
        served.server.stop(grace=2).wait()
