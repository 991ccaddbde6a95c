"""Backends: one interface (`base.Backend`), two implementations."""

from __future__ import annotations

import sqlite3

from capstone_cli.backends.base import Backend
from capstone_cli.errors import CapstoneError, InputError
from capstone_cli.settings import Settings


def open_backend(settings: Settings) -> Backend:
    """The backend the settings select; the Pachyderm one is imported only when chosen."""
    if settings.backend == "pachyderm":
        from capstone_cli.backends.pachyderm import PachydermBackend

        return PachydermBackend.connect(settings.pachd_address, settings.project)
    from capstone_cli.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings.home, settings.project)


def environment_error(exc: Exception) -> CapstoneError | None:
    """The capstone error for a failure of the machine rather than of capstone, else None.

    A database SQLite cannot read (a damaged page: exit 9, see `capstone fsck`) or a write it
    refuses can surface from any read of the embedded store, and a local file from any command
    that touches one; the CLI asks here before it calls an exception a bug.
    """
    if isinstance(exc, sqlite3.Error):
        from capstone_cli.engine.store.ioerrors import translate_error

        return translate_error(exc)
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return InputError(
            f"{exc.filename}: {exc.strerror}",
            hint="check the path, its permissions and the free space on its disk",
        )
    return None
