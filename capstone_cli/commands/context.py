"""Per-invocation state shared by commands: resolved settings and the open backend.

The root callback resolves settings once; commands ask for the backend lazily, so `--help` and
commands that need no store never open one.
"""

from __future__ import annotations

from capstone_cli import ui
from capstone_cli.backends import open_backend
from capstone_cli.backends.base import Backend
from capstone_cli.settings import Settings, resolve
from capstone_cli.workflows.system.doctor import notify_fallback

_settings: Settings | None = None
_backend: Backend | None = None


def configure(**options: object) -> Settings:
    global _settings
    close()
    _settings = resolve(**options)  # type: ignore[arg-type]
    notify_fallback(ui.info)  # once per invocation, when a job first runs in a fallback /pfs mode
    return _settings


def settings() -> Settings:
    return _settings if _settings is not None else configure()


def debug_enabled() -> bool:
    return _settings.debug if _settings is not None else False


def backend() -> Backend:
    global _backend
    if _backend is None:
        _backend = open_backend(settings())
    return _backend


def close() -> None:
    global _backend
    if _backend is not None:
        _backend.close()
        _backend = None
