"""A pytest plugin for the vendored python-sdk suite: `random` seeded per test from its node id.

The suite names its repos, pipelines and projects with `random.randint(100, 999)`;
`test_batch_transaction` creates three repos in one transaction, so about one run in 300 draws
the same name twice and fails with ALREADY_EXISTS whatever the server does (as it would against
pachd). Seeding per test, as pytest-randomly does, makes every run draw the same names: a
failure is then the server's, and it reproduces. Loaded with `-p` by test_serve_python_sdk.py,
from outside the vendored folder, which stays unmodified.
"""

from __future__ import annotations

import random
import zlib

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    random.seed(zlib.crc32(item.nodeid.encode()))
