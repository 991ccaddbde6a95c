"""`capstone fsck`: check the store behind a backend, and repair what is safe to repair."""

from __future__ import annotations

from typing import TYPE_CHECKING

from capstone_cli.backends.base import Backend

if TYPE_CHECKING:  # the engine is imported only where a backend runs it
    from capstone_cli.engine.fsck import FsckReport


def fsck(backend: Backend, *, fix: bool = False) -> FsckReport:
    """The store's problems and leftovers (`fix` removes leftovers); a cluster refuses."""
    return backend.fsck(fix=fix)
