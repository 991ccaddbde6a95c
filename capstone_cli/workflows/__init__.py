"""The workflows behind `train`, `predict`, `apply` and `status`: one core function each,
written against the Backend interface so they run the same on both backends."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from capstone_cli.backends.base import Backend
from capstone_cli.results import JobInfo

# How a workflow waits for commit sets: the CLI passes its live-display follower.
Follow = Callable[[Backend, Sequence[str]], list[JobInfo]]
