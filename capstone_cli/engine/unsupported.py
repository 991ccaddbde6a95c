"""What the embedded engine cannot run, refused by presence, as Pachyderm reads a spec.

In Pachyderm a message field is set when its key is present at all: `"spout": {}` makes a spout
pipeline and `"cron": {}` a cron input (protojson leaves a nil pointer only for an absent key
or `null`). So the embedded engine refuses `spout`, `service`, `egress`, cron inputs and
`job_timeout` when the key is there, even with an empty object, instead of running such a
pipeline as something else (a 0-datum job); `transform.secrets` too (no Kubernetes secrets
here), when the list is not empty. `s3_out` and `pfs.s3` are proto booleans: `false`
is the same as absent in Pachyderm, so only `true` is refused. Every refusal names the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.errors import SpecError

_ELSEWHERE = "or run it on a Pachyderm cluster (--backend pachyderm)"

# canonical key -> (snake_case field, what it is, hint)
_TOP_LEVEL: dict[str, tuple[str, str, str]] = {
    "spout": ("spout", "a spout pipeline is", f"feed the repo with `capstone put`, {_ELSEWHERE}"),
    "service": ("service", "a service pipeline is", f"remove `service`, {_ELSEWHERE}"),
    "egress": (
        "egress",
        "egress is",
        f"copy the output with `capstone get`, {_ELSEWHERE}",
    ),
    "jobTimeout": ("job_timeout", "a job timeout is", f"remove it to run locally, {_ELSEWHERE}"),
}
_COMBINED = ("cross", "union", "join", "group")


def _input_refusals(node: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """(field, what, hint) for each cron input and S3 input in an input tree, in tree order."""
    if not isinstance(node, dict):
        return
    if node.get("cron") is not None:
        hint = f"put files into a pfs input's repo on a schedule instead, {_ELSEWHERE}"
        yield f"{path}.cron", "a cron input is", hint
    pfs = node.get("pfs")
    if isinstance(pfs, dict) and pfs.get("s3") is True:
        yield f"{path}.pfs.s3", "an S3 input is", f"remove `s3`, {_ELSEWHERE}"
    trigger = pfs.get("trigger") if isinstance(pfs, dict) else None
    for key in ("rateLimitSpec", "cronSpec"):
        if isinstance(trigger, dict) and trigger.get(key):
            hint = f"trigger on size or commits instead, {_ELSEWHERE}"
            yield f"{path}.pfs.trigger.{key}", "a timed trigger is", hint
    for kind in _COMBINED:
        for i, child in enumerate(node.get(kind) or []):
            yield from _input_refusals(child, f"{path}.{kind}[{i}]")


def refusals(spec: PipelineSpec) -> list[tuple[str, str, str]]:
    """Every field of `spec` the embedded engine cannot run: (field, what, hint), spec order."""
    doc = spec.effective
    found = [entry for key, entry in _TOP_LEVEL.items() if doc.get(key, None) is not None]
    if (doc.get("transform") or {}).get("secrets"):  # an empty list is a nil slice in Go
        hint = f"set the values with `transform.env` instead, {_ELSEWHERE}"
        found.append(("transform.secrets", "a Kubernetes secret is", hint))
    if doc.get("s3Out") is True:
        found.append(("s3_out", "an S3 output is", f"remove `s3_out`, {_ELSEWHERE}"))
    found.extend(_input_refusals(doc.get("input"), "input"))
    return found


def check_supported(spec: PipelineSpec) -> None:
    """Raise a SpecError naming the first field of `spec` the embedded engine cannot run."""
    found = refusals(spec)
    if found:
        field, what, hint = found[0]
        more = f" (also: {', '.join(f for f, _, _ in found[1:])})" if len(found) > 1 else ""
        raise SpecError(
            f"pipeline {spec.name}: {field}: {what} not supported by the embedded engine{more}",
            hint=hint,
        )
