"""A tiny datum-batching stage for engine tests: `python tests/unit/engine/worker/batch_stage.py`.

Copies its `in` input to the output (symlinks it with MODE=link, lists what it sees with
MODE=list; after sleeping $SLEEP seconds); raises on content `boom`; appends its pid to
`$MARKS/pids` once per process and the input name to `$MARKS/calls` once per datum, so tests can
count processes and executions.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from workers.runtime import DatumContext, main


class CopyStage:
    def __init__(self, params: dict[str, Any]) -> None:
        self.marks = Path(os.environ["MARKS"])
        with open(self.marks / "pids", "a") as f:
            f.write(f"{os.getpid()}\n")

    def process(self, ctx: DatumContext) -> None:
        src = ctx.input("in")
        with open(self.marks / "calls", "a") as f:
            f.write(src.name + "\n")
        if src.read_bytes() == b"boom":
            raise ValueError(f"boom in {src.name}")
        time.sleep(float(os.environ.get("SLEEP", "0")))
        ctx.out.mkdir(parents=True, exist_ok=True)
        mode = os.environ.get("MODE")
        if mode == "link":  # Pachyderm's "symlink the input" idiom
            (ctx.out / src.name).symlink_to(src)
        elif mode == "list":  # what this datum can see of /pfs, besides out/
            root = Path(os.environ["CAPSTONE_PFS_ROOT"])
            seen = sorted(
                str(p.relative_to(root))
                for p in root.rglob("*")
                if p.parts[-1] != "out" and not p.name.startswith(".")  # /pfs/.env
            )
            (ctx.out / src.name).write_text("\n".join(p for p in seen if not p.startswith("out/")))
        else:
            shutil.copy(src, ctx.out / src.name)


if __name__ == "__main__":
    sys.exit(main(CopyStage, ["in"]))
