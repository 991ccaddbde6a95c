"""The kill harness, short seeded sample (`make test`); the full run is `make kill-harness`.

Each point SIGKILLs a real `capstone` process at a named fault point (or a random time), then
checks the store, re-runs the command and compares its outputs with an uninterrupted run (see
`harness.py`). The seed is fixed so a failure reproduces; `CAPSTONE_KILL_SEED` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.harness import Harness, KillPoint, PointResult

SEED = int(os.environ.get("CAPSTONE_KILL_SEED", "8"))


def _check(results: list[PointResult]) -> None:
    """Every point passed, and every named fault point really killed its command.

    A timed kill may land after a fast command has finished (more often on a quiet machine),
    so only named points are required to kill.
    """
    failed = [r for r in results if not r.ok]
    assert not failed, f"seed {SEED}: " + "; ".join(
        f"#{r.index} {r.point.workload} {r.point.describe()}: {r.problems}" for r in failed
    )
    missed = [r.point.describe() for r in results if r.point.fault and not r.killed]
    assert not missed, f"seed {SEED}: named points that did not kill: {missed}"
    assert any(r.killed for r in results), f"seed {SEED}: nothing was killed"


def test_kill_put_and_run_sample(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "work", log=print)
    points = harness.sample(SEED, {"put": 3, "run": 3, "run-par2": 1})
    points += [  # always: the engine killed while a worker process runs a datum, and mid-commit
        KillPoint("run", "kill:executor.datum.spawned:2"),
        KillPoint("put", "kill:db.commit:1"),
    ]
    _check(harness.run(points))


@pytest.mark.ml
@pytest.mark.slow
def test_kill_train_sample(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "work", log=print)
    points = harness.sample(SEED, {"train": 1}, timed_fraction=0.0)
    points.append(KillPoint("train", "kill:train.uploaded:1"))  # upload done, jobs not run
    _check(harness.run(points))
