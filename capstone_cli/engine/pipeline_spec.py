"""The typed form of a Pachyderm pipeline spec, after defaults are filled.

`spec.py` builds these from JSON/YAML; the runner, the datum lister and the backends read them.
`effective` keeps the whole canonical (camelCase) request, which is what gets sent to a cluster
and what `pipeline inspect` shows, so fields the embedded engine ignores (k8s resources, ...)
are never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from capstone_cli.engine.inputs import Input
from capstone_cli.engine.names import RepoRef


@dataclass(frozen=True)
class Transform:
    """`transform`: what runs for each datum (or each datum set, with datum batching)."""

    cmd: tuple[str, ...]
    stdin: tuple[str, ...] = ()
    image: str = "ubuntu:20.04"
    err_cmd: tuple[str, ...] = ()
    err_stdin: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    accept_return_code: tuple[int, ...] = ()
    working_dir: str = ""
    user: str = ""
    datum_batching: bool = False
    memory_volume: bool = False


@dataclass(frozen=True)
class PipelineSpec:
    """A validated pipeline spec with Pachyderm's defaults filled in."""

    name: str
    transform: Transform
    input: Input | None
    project: str = "default"
    description: str = ""
    parallelism: int = 1  # parallelism_spec.constant; 0 or unset means 1
    autoscaling: bool = False
    datum_tries: int = 3  # total attempts
    datum_timeout: float | None = None  # seconds per attempt
    job_timeout: float | None = None  # seconds
    reprocess_spec: str = "until_success"  # or "every_job"
    salt: str = ""
    output_branch: str = "master"
    s3_out: bool = False
    effective: dict[str, Any] = field(default_factory=dict)  # canonical camelCase request
    source: str = ""  # file it was read from, for error messages

    @property
    def key(self) -> str:
        """The store key of the pipeline and its output repo (`names.RepoRef`)."""
        return RepoRef(self.project, self.name).key
