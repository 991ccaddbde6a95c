"""The two messages of Pachyderm's `/pachyderm.worker.Worker/NextDatum` call, on the wire.

From pachyderm's api/worker/worker.proto:

    message NextDatumRequest  { string error = 1; }
    message NextDatumResponse { repeated string env = 1; }

A batching worker calls NextDatum once per datum, and importing `pachyderm_sdk` (whose package
`__init__` loads the whole client) costs ~130-200 ms of every worker process's start (and of the
embedded engine's, which serves the call), so both sides encode these two messages here:
protobuf's wire format for a string field is the tag byte (field 1, wire type 2 = 0x0A), a
varint length and the UTF-8 bytes. Unknown fields are skipped, as protobuf requires.
`tests/unit/protocol/test_nextdatum_wire.py` checks every direction against pachyderm_sdk's
generated classes.
"""

from __future__ import annotations

_TAG_FIELD1_BYTES = 0x0A  # (field number 1 << 3) | wire type 2 (length-delimited)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def encode_request(error: str) -> bytes:
    """A serialized NextDatumRequest (proto3: an empty `error` is not written at all)."""
    if not error:
        return b""
    raw = error.encode("utf-8")
    return bytes([_TAG_FIELD1_BYTES]) + _varint(len(raw)) + raw


def encode_response(env: list[str]) -> bytes:
    """A serialized NextDatumResponse (the embedded engine's side of the call)."""
    parts: list[bytes] = []
    for entry in env:
        raw = entry.encode("utf-8")
        parts += (bytes([_TAG_FIELD1_BYTES]), _varint(len(raw)), raw)
    return b"".join(parts)


def decode_request(data: bytes) -> str:
    """The `error` of a serialized NextDatumRequest (the last one wins, as in protobuf)."""
    values = _strings_of_field1(data)
    return values[-1] if values else ""


def decode_response(data: bytes) -> list[str]:
    """The `env` entries of a serialized NextDatumResponse."""
    return _strings_of_field1(data)


def _strings_of_field1(data: bytes) -> list[str]:
    env: list[str] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            if field == 1:
                env.append(data[pos : pos + size].decode("utf-8"))
            pos += size
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated message")
    return env
