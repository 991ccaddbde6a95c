"""Backends: one interface (`base.Backend`), two implementations."""

from __future__ import annotations

from capstone_cli.backends.base import Backend
from capstone_cli.settings import Settings


def open_backend(settings: Settings) -> Backend:
    """The backend the settings select; the Pachyderm one is imported only when chosen."""
    if settings.backend == "pachyderm":
        from capstone_cli.backends.pachyderm import PachydermBackend

        return PachydermBackend.connect(settings.pachd_address, settings.project)
    from capstone_cli.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings.home)
