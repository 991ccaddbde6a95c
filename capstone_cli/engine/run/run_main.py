"""`python -m capstone_cli.engine.run.run_main HOME [PARALLELISM]`: run pending jobs of a store.

A minimal entry point without the CLI layer, used by crash tests (a real process that can be
SIGKILLed mid-run) and handy for debugging. Prints nothing; the exit status is 0 when every job
run ended in JOB_SUCCESS, else 5 (JobFailedError's code).
"""

from __future__ import annotations

import sys
from pathlib import Path

from capstone_cli.engine.run.jobs import SUCCESS
from capstone_cli.engine.run.runner import run_pending
from capstone_cli.engine.store.store import open_store
from capstone_cli.errors import ExitCode


def main(argv: list[str]) -> int:
    home = Path(argv[0])
    parallelism = int(argv[1]) if len(argv) > 1 else None
    with open_store(home) as store:
        jobs = run_pending(store, parallelism=parallelism)
    ok = all(job.state == SUCCESS for job in jobs)
    return int(ExitCode.OK if ok else ExitCode.JOB_FAILED)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
