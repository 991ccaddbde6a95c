"""Cost of one rebind of `/pfs` (literal mode, `engine/worker/pfsmount.py`): what literal mode adds
per datum. Run (Linux, CAP_SYS_ADMIN): `.venv/bin/python benchmarks/bench_pfs_bind.py [N]`."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capstone_cli.engine.worker.pfsmount import LITERAL, bind_pfs, pfs_mode  # noqa: E402


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    mode = pfs_mode()
    if mode.mode != LITERAL:
        print(f"no mount namespace here ({mode.describe()}): nothing to measure")
        return

    def work() -> None:  # on a thread of its own: its namespace dies with it
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            bind_pfs(Path(a))
            t0 = time.perf_counter()
            for i in range(rounds):
                bind_pfs(Path(b if i % 2 == 0 else a))
            per = (time.perf_counter() - t0) / rounds
        print(f"| one rebind of /pfs ({rounds} rebinds) | {per * 1e6:.0f} us |")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
