"""Run one stage's code once per process, or over many datums in one process.

Pachyderm runs `transform.cmd` once per datum, with the datum's inputs in environment variables
named after the inputs. With `datum_batching` it starts `cmd` once per datum set and the code
asks for each datum over gRPC (`/pachyderm.worker.Worker/NextDatum` on
`localhost:$PPS_WORKER_GRPC_PORT`); the answer (and `/pfs/.env` on a cluster) carries the datum's
environment. The embedded engine serves the same gRPC method, so one loop serves both, and an
expensive setup (importing TensorFlow, loading a model) happens once per process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from capstone_cli.protocol.params_env import PARAMS_ENV
from capstone_cli.protocol.progress import PROGRESS_ENV, write_progress

DOTENV_PATH = Path("/pfs/.env")  # where a Pachyderm worker writes the datum env


@dataclass
class DatumContext:
    """Everything a stage needs for one datum."""

    out: Path
    inputs: dict[str, Path]
    params: dict[str, Any]
    datum_id: str = ""
    job_id: str = ""
    env: Mapping[str, str] = field(default_factory=dict)

    def input(self, name: str) -> Path:
        """The path of input `name` for this datum (Pachyderm's `$<name>` variable)."""
        try:
            return self.inputs[name]
        except KeyError:
            raise RuntimeError(
                f"input {name!r} is not set for this datum (have: {sorted(self.inputs)})"
            ) from None

    def log(self, message: str) -> None:
        """A user log line; the engine or pachd stores it with the datum."""
        print(message, flush=True)

    def progress(self, done: int, total: int, unit: str) -> None:
        """Report `done` of `total` `unit`s (e.g. epochs) while a long datum runs.

        Advisory: the engine shows it live (`capstone train`, `jobs --json`); without the
        engine's variable (a Pachyderm worker, batching mode, a test) it does nothing.
        """
        path = self.env.get(PROGRESS_ENV)
        if path:
            write_progress(path, done, total, unit)


class Stage(Protocol):
    def process(self, ctx: DatumContext) -> None: ...


StageFactory = Callable[[dict[str, Any]], Stage]


def load_params(raw: str | None) -> dict[str, Any]:
    """Stage parameters: JSON from `--params` or `$CAPSTONE_PARAMS` (set by the rendered spec)."""
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise SystemExit("stage parameters must be a JSON object")
    return value


def parse_env_lines(lines: Sequence[str]) -> dict[str, str]:
    """`K=V` lines (NextDatumResponse.env, /pfs/.env) as a dict; blank and comment lines skipped."""
    env: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip('"')
    return env


def _context(
    out: Path, params: dict[str, Any], input_names: Sequence[str], env: Mapping[str, str]
) -> DatumContext:
    inputs = {name: Path(env[name]) for name in input_names if env.get(name)}
    return DatumContext(
        out=out,
        inputs=inputs,
        params=params,
        datum_id=env.get("PACH_DATUM_ID", ""),
        job_id=env.get("PACH_JOB_ID", ""),
        env=env,
    )


def is_batching(env: Mapping[str, str]) -> bool:
    """Pachyderm's batching mode: a worker port but no per-datum variables in the env."""
    return bool(env.get("PPS_WORKER_GRPC_PORT")) and not env.get("PACH_DATUM_ID")


def run_batches(
    stage: Stage, out: Path, params: dict[str, Any], input_names: Sequence[str]
) -> None:
    """Serve datums until the worker stops us (it cancels or kills us after the last one)."""
    import grpc

    from capstone_cli.protocol.nextdatum import decode_response, encode_request

    port = os.environ["PPS_WORKER_GRPC_PORT"]
    channel = grpc.insecure_channel(f"localhost:{port}")
    next_datum = channel.unary_unary(
        "/pachyderm.worker.Worker/NextDatum",
        request_serializer=encode_request,
        response_deserializer=decode_response,
    )
    error = ""
    while True:
        try:
            response: list[str] = next_datum(error)
        except grpc.RpcError as exc:  # the worker cancelled us: all datums are done
            if exc.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
                return
            raise
        datum_env = parse_env_lines(response)
        if DOTENV_PATH.is_file():  # a cluster worker writes the datum env here
            datum_env.update(parse_env_lines(DOTENV_PATH.read_text().splitlines()))
        # The answer carries the whole environment; set only what changed (putenv is slow).
        changed = {k: v for k, v in datum_env.items() if os.environ.get(k) != v}
        if changed:
            os.environ.update(changed)
        env = ChainMap(datum_env, os.environ)
        error = ""
        try:
            stage.process(_context(out, params, input_names, env))
        except Exception as exc:
            traceback.print_exc()
            error = repr(exc) or "error"
        sys.stdout.flush()
        sys.stderr.flush()


def main(
    factory: StageFactory,
    input_names: Sequence[str],
    argv: Sequence[str] | None = None,
    description: str = "",
) -> int:
    """Entry point shared by every stage module."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default="/pfs/out", help="output directory (default /pfs/out)")
    parser.add_argument("--params", default=None, help=f"JSON parameters (default ${PARAMS_ENV})")
    args = parser.parse_args(argv)
    params = load_params(args.params if args.params is not None else os.environ.get(PARAMS_ENV))
    out = Path(args.out)
    stage = factory(params)
    if is_batching(os.environ):
        run_batches(stage, out, params, input_names)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    stage.process(_context(out, params, input_names, os.environ))
    return 0
