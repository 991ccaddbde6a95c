"""Pachyderm's own python-sdk tests (vendored, unmodified) against a real `capstone serve`.

The server runs as `capstone serve` in a subprocess on a free 127.0.0.1 port in a temporary
CAPSTONE_HOME; the suite runs in a second subprocess from its own directory (its files import
each other as the package `tests`). Every case must pass except those in EXPECTED_FAILURES,
each with its reason (the same list is in the README); a case that starts passing fails this
test too, so the list stays true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.e2e.conftest import Served

SUITE = Path(__file__).resolve().parents[1] / "vendored" / "pachyderm_python_sdk"
SEED_PLUGIN = Path(__file__).resolve().parent / "sdk_plugins"  # capstone_suite_seed
FILES = [
    "tests/test_pfs.py",
    "tests/test_pfs_additions.py",
    "tests/test_pps.py",
    "tests/test_transaction.py",
    "tests/test_worker.py",
    "tests/test_metadata.py",
]
URL = "puts https://www.pachyderm.com/index.html: needs the internet"
EXPECTED_FAILURES: dict[str, str] = {
    "tests.test_pfs.TestModifyFile::test_put_file_url[True]": URL,
    "tests.test_pfs.TestModifyFile::test_put_file_url[False]": URL,
}


def test_ctrl_c_stops_the_server_cleanly(served: Served) -> None:
    proc = served.proc
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    err = served.stderr.read_text()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def _outcomes(junit: Path, messages: dict[str, str] | None = None) -> dict[str, str]:
    """test id -> "passed" | "failed" | "skipped" from a junit XML report (and, into
    `messages`, each failure's message)."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure")
        bad = bad if bad is not None else case.find("error")
        if bad is not None:
            out[name] = "failed"
            if messages is not None:
                messages[name] = (bad.get("message") or "")[:500]
        elif case.find("skipped") is not None:
            out[name] = "skipped"
        else:
            out[name] = "passed"
    return out


def test_pachyderm_python_sdk_suite(served: Served, tmp_path: Path) -> None:
    port = served.port
    junit = tmp_path / "junit.xml"
    env = {
        **os.environ,
        "PACH_PYTHON_TEST_HOST": "127.0.0.1",
        "PACH_PYTHON_TEST_PORT": str(port),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(SEED_PLUGIN), os.environ.get("PYTHONPATH")])
        ),
    }
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "capstone_suite_seed",
            "-o",
            "timeout=60",
            f"--junitxml={junit}",
            *FILES,
        ],
        cwd=SUITE,
        env=env,
        capture_output=True,
        timeout=900,
    )
    messages: dict[str, str] = {}
    outcomes = _outcomes(junit, messages)
    failed = {name for name, state in outcomes.items() if state == "failed"}
    ran = [name for name, state in outcomes.items() if state != "skipped"]
    print(
        f"python-sdk suite: {len(ran) - len(failed)}/{len(ran)} passed "
        f"({len(outcomes) - len(ran)} skipped) in {time.monotonic() - started:.0f}s"
    )
    unexpected = {name: messages.get(name, "") for name in failed - set(EXPECTED_FAILURES)}
    assert not unexpected, unexpected
    assert failed == set(EXPECTED_FAILURES), run.stdout.decode()[-4000:]
