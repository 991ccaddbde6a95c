"""`capstone doctor`: what this machine gives the embedded engine, and why.

Today one fact: how datum processes see `/pfs` (`engine.run.pfsmount`): at its literal path in
a private mount namespace, or rewritten to a scratch dir, with the reason (not Linux, no
CAP_SYS_ADMIN, `CAPSTONE_PFS_MODE=rewrite`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capstone_cli.engine.run.pfsmount import MODE_ENV, PfsMode, pfs_mode


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
