"""`capstone doctor`: what this machine gives the embedded engine, and why.

Today one fact: how datum processes see `/pfs` (`engine.worker.pfsmount`): at its literal path
in a private mount namespace, through PRoot, or rewritten to a scratch dir, with the reason
(not Linux, no CAP_SYS_ADMIN, no proot, `CAPSTONE_PFS_MODE`). `capstone status` shows the same
fact, and a command that runs jobs in a fallback mode says so once (`notify_fallback`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capstone_cli.engine.worker.pfsmount import (
    MODE_ENV,
    PROOT,
    REWRITE,
    PfsMode,
    on_fallback,
    pfs_mode,
)
from capstone_cli.engine.worker.pfsproot import INSTALL_HINT

# what each fallback mode costs, said after its line
FALLBACK_LIMIT = {
    PROOT: "each system call of a datum process goes through ptrace: slower, same results",
    REWRITE: (
        "Python code building /pfs paths is mapped by a shim; other programs that build /pfs "
        f"paths themselves need /pfs at its literal path: {INSTALL_HINT} for C programs, or "
        "run with root or CAP_SYS_ADMIN on Linux"
    ),
}


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


def fallback_limit(mode: PfsMode) -> str | None:
    """What a fallback mode costs (None in literal mode)."""
    return FALLBACK_LIMIT.get(mode.mode)


def notify_fallback(notify: Callable[[str], None]) -> None:
    """Have `notify` told once, when this invocation first runs a job in a fallback mode."""
    on_fallback(lambda mode: notify(f"{mode.describe()}; {fallback_limit(mode)}"))
