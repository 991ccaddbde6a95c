"""The hand-written NextDatum codec (worker and engine side) against pachyderm_sdk's messages."""

from __future__ import annotations

import pytest
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse

from capstone_cli.protocol.nextdatum import (
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)

ENVS = [
    [],
    ["PACH_DATUM_ID=" + "ab" * 32],
    ["in=/pfs/in/d/0000001", "in_COMMIT=0123abcd", "CAPSTONE_PFS_ROOT=/tmp/x", ""],
    ["K=" + "v" * 300, "UNICODE=é€🙂"],  # lengths over 127 need a 2-byte varint
    ["BIG=" + "x" * 70_000],  # a 3-byte varint
]


@pytest.mark.parametrize("error", ["", "x", "ValueError('boom')", "é" * 200])
def test_request_bytes_parse_as_pachyderm_sdk_message(error: str) -> None:
    encoded = encode_request(error)
    assert NextDatumRequest().parse(encoded).error == error
    assert encoded == bytes(NextDatumRequest(error=error))
    assert decode_request(bytes(NextDatumRequest(error=error))) == error


@pytest.mark.parametrize("env", ENVS)
def test_response_round_trips_with_pachyderm_sdk(env: list[str]) -> None:
    assert decode_response(bytes(NextDatumResponse(env=env))) == env
    assert NextDatumResponse().parse(encode_response(env)).env == env
    assert encode_response(env) == bytes(NextDatumResponse(env=env))


def test_unknown_fields_are_skipped_and_garbage_is_refused() -> None:
    known = bytes(NextDatumResponse(env=["A=1", "B=2"]))
    varint_field = bytes([2 << 3 | 0]) + b"\x96\x01"  # field 2 = 150
    fixed64 = bytes([3 << 3 | 1]) + b"\x00" * 8
    fixed32 = bytes([4 << 3 | 5]) + b"\x00" * 4
    other_bytes = bytes([5 << 3 | 2, 3]) + b"xyz"
    data = varint_field + known[:5] + fixed64 + fixed32 + known[5:] + other_bytes
    assert decode_response(data) == ["A=1", "B=2"]
    with pytest.raises(ValueError):
        decode_response(known[:-1])  # truncated string
    with pytest.raises(ValueError):
        decode_response(b"\x0a\xff")  # truncated varint
