"""`capstone serve`'s method table and error mapping (table-driven, no server needed)."""

from __future__ import annotations

import grpc
import pytest

from capstone_cli.errors import (
    CapstoneError,
    ConflictError,
    InvalidNameError,
    NotFoundError,
    StoreBusyError,
)
from capstone_cli.serve.registry import methods, snake
from capstone_cli.serve.status import PreconditionError, UnimplementedError, code_for


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CreateRepo", "create_repo"),
        ("GetFileTAR", "get_file_tar"),
        ("InspectProjectV2", "inspect_project_v2"),
        ("NextDatum", "next_datum"),
    ],
)
def test_method_names_map_to_servicer_methods(name: str, expected: str) -> None:
    assert snake(name) == expected


@pytest.mark.parametrize(
    ("module", "path", "kind", "request_cls"),
    [
        ("pachyderm_sdk.api.pfs", "/pfs_v2.API/CreateRepo", "unary_unary", "CreateRepoRequest"),
        ("pachyderm_sdk.api.pfs", "/pfs_v2.API/ModifyFile", "stream_unary", "ModifyFileRequest"),
        ("pachyderm_sdk.api.pfs", "/pfs_v2.API/GetFileTAR", "unary_stream", "GetFileRequest"),
        ("pachyderm_sdk.api.pps", "/pps_v2.API/CreateDatum", "stream_stream", "CreateDatumRequest"),
        ("pachyderm_sdk.api.version", "/versionpb_v2.API/GetVersion", "unary_unary", "Empty"),
    ],
)
def test_the_method_table_is_read_from_the_installed_sdk(
    module: str, path: str, kind: str, request_cls: str
) -> None:
    table = {m.path: m for m in methods(module)}
    assert table[path].kind == kind
    assert table[path].request.__name__ == request_cls


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (NotFoundError("repo 'x' not found"), grpc.StatusCode.NOT_FOUND),
        (ConflictError("repo x already exists"), grpc.StatusCode.ALREADY_EXISTS),
        (
            PreconditionError("parent commit c has not been finished"),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
        (UnimplementedError("no"), grpc.StatusCode.UNIMPLEMENTED),
        (InvalidNameError("bad name"), grpc.StatusCode.INVALID_ARGUMENT),
        (StoreBusyError("busy"), grpc.StatusCode.UNAVAILABLE),
        (CapstoneError("other"), grpc.StatusCode.UNKNOWN),
    ],
)
def test_errors_map_to_pachds_codes(exc: Exception, code: grpc.StatusCode) -> None:
    assert code_for(exc) == code
