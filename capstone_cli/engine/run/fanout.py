"""Run work items on N threads and hand results back on the calling thread, in finish order.

Both ways of running datums (one process per datum, and datum batching) share this: each
thread owns its own SQLite connection and scratch root, takes items until none are left, and
the caller persists/reports results as they come. An exception in a worker is re-raised in the
caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from capstone_cli.engine import faults

T = TypeVar("T")
R = TypeVar("R")


class _Failure:
    """An exception raised on a worker thread, carried to the caller."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def fan_out(
    items: Sequence[T],
    threads: int,
    work: Callable[[int, Callable[[], T | None], Callable[[R], None]], None],
    on_done: Callable[[R], None],
) -> None:
    """`work(index, take, emit)` runs on each thread: `take()` gives the next item or None."""
    pending: queue.Queue[T] = queue.Queue()
    for item in items:
        pending.put(item)
    results: queue.Queue[R | _Failure] = queue.Queue()

    def take() -> T | None:
        try:
            return pending.get_nowait()
        except queue.Empty:
            return None

    def main(index: int) -> None:
        try:
            work(index, take, results.put)
        except BaseException as exc:  # surfaced in the calling thread
            results.put(_Failure(exc))

    workers = [threading.Thread(target=main, args=(i,), daemon=True) for i in range(threads)]
    for th in workers:
        th.start()
    for _ in items:
        got = results.get()
        if isinstance(got, _Failure):
            raise got.exc
        on_done(got)
        faults.checkpoint("fanout.result")
    for th in workers:
        th.join()
