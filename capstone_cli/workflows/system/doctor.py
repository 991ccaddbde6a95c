"""`capstone doctor`: what this machine gives the embedded engine, and why.

Today one fact: how datum processes see `/pfs` (`engine.run.pfsmount`): at its literal path in
a private mount namespace, or rewritten to a scratch dir, with the reason (not Linux, no
CAP_SYS_ADMIN, `CAPSTONE_PFS_MODE=rewrite`). `capstone status` shows the same fact, and a
command that runs jobs in rewrite mode says so once (`notify_fallback`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capstone_cli.engine.worker.pfsmount import MODE_ENV, PfsMode, on_fallback, pfs_mode

FALLBACK_LIMIT = (
    "Python code building /pfs paths is mapped by a shim; other programs that build /pfs "
    "paths themselves need the literal mode (root or CAP_SYS_ADMIN on Linux)"
)


@dataclass(frozen=True)
class DoctorReport:
    home: Path
    pfs: PfsMode
    python: str

    def to_json(self) -> dict[str, Any]:
        return {
            "home": str(self.home),
            "pfs": self.pfs.to_json(),
            "pfs_mode_env": MODE_ENV,
            "python": self.python,
        }


def doctor(home: Path) -> DoctorReport:
    return DoctorReport(home, pfs_mode(), sys.executable)


def describe_pfs(mode: PfsMode) -> str:
    """One line: how datum processes see `/pfs`, and why when it is rewritten."""
    if mode.literal:
        return "/pfs: literal (a private mount namespace per worker)"
    return f"/pfs: rewritten to a scratch dir ({mode.reason})"


def notify_fallback(notify: Callable[[str], None]) -> None:
    """Have `notify` told once, when this invocation first runs a job in rewrite mode."""
    on_fallback(lambda mode: notify(f"{describe_pfs(mode)}; {FALLBACK_LIMIT}"))
