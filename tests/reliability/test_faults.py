"""The fault hook itself: parsing, the N-th crossing, prefixes, injected errno values."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capstone_cli.engine import faults
from tests.conftest import capstone_cmd, subprocess_env


@pytest.fixture(autouse=True)
def reset() -> Iterator[None]:
    yield
    faults.configure(None)


def test_unset_means_no_effect() -> None:
    faults.configure(None)
    for _ in range(3):
        faults.checkpoint("db.commit")


def test_nth_crossing_raises_the_errno_once() -> None:
    faults.configure("enospc:db.commit:3")
    faults.checkpoint("db.commit")
    faults.checkpoint("other")
    faults.checkpoint("db.commit")
    with pytest.raises(OSError) as info:
        faults.checkpoint("db.commit")
    assert info.value.errno == errno.ENOSPC and "db.commit" in str(info.value)
    faults.checkpoint("db.commit")  # fires once


def test_prefix_and_count_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    faults.configure("count:*,erofs:blobs.*:2", trace=str(trace))
    faults.checkpoint("blobs.tmp_written")
    with pytest.raises(OSError) as info:
        faults.checkpoint("blobs.renamed")
    assert info.value.errno == errno.EROFS
    assert trace.read_text().split() == ["blobs.tmp_written", "blobs.renamed"]


@pytest.mark.parametrize("bad", ["kill", "boom:x", "kill:", "kill:x:0", "kill:x:y"])
def test_malformed_entries_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        faults.configure(bad)


def test_kill_is_a_real_sigkill() -> None:
    code = "from capstone_cli.engine import faults; faults.checkpoint('p'); print('survived')"
    env = {**os.environ, "CAPSTONE_FAULT": "kill:p"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == -9 and "survived" not in proc.stdout


def test_a_malformed_value_is_a_one_line_usage_error_and_writes_nothing(
    tmp_path: Path, capstone_home: Path
) -> None:
    src = tmp_path / "a.txt"
    src.write_text("a")
    env = {**subprocess_env(capstone_home), faults.ENV: "kill:"}
    proc = subprocess.run(
        [*capstone_cmd(), "put", "data@master", str(src)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: bad {faults.ENV} entry 'kill:': want KIND:POINT[:N], KIND in {faults.KINDS}",
        f"hint: unset {faults.ENV}, or see capstone_cli/engine/faults.py",
    ]
    listed = subprocess.run(
        [*capstone_cmd(), "repo", "list", "--json"],
        env=subprocess_env(capstone_home),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(listed.stdout) == []
