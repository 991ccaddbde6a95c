"""Run a worker stage as Pachyderm would: `python -m workers.<stage> --out DIR`, in a process.

Inputs are passed as environment variables named after the pipeline's inputs; the gRPC port
variable is removed so the stage runs once over its inputs instead of serving datum batching.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_stage_process(
    module: str, out: Path, inputs: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `workers.<module>` with `inputs` as environment variables; returns the process."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **inputs}
    env.pop("PPS_WORKER_GRPC_PORT", None)
    return subprocess.run(
        [sys.executable, "-m", f"workers.{module}", "--out", str(out), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
