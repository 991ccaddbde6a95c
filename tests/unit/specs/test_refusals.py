"""Refusals by presence: what the embedded engine cannot run is refused when its key is there.

A spec document goes through `parse_spec` (validation, as for either backend) and then the
embedded engine's `check_supported`; each row says which field the refusal names.
"""

from __future__ import annotations

from typing import Any

import pytest

from capstone_cli.engine.unsupported import check_supported, refusals
from capstone_cli.errors import SpecError
from capstone_cli.specs.parse import parse_spec

PFS = {"pfs": {"repo": "data", "glob": "/*"}}
CRON = {"cron": {"name": "tick", "spec": "@every 60s"}}
S3 = {"pfs": {"repo": "data", "glob": "/", "s3": True}}


def doc(**extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"pipeline": {"name": "p"}, "transform": {"cmd": ["sh"]}, "input": PFS}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize(
    ("spec", "fields", "words"),
    [
        (doc(spout={}, input=None), ["spout"], "a spout pipeline"),
        (doc(spout={"service": {}}), ["spout"], "a spout pipeline"),
        (doc(service={}), ["service"], "a service pipeline"),
        (doc(service={"type": "NodePort", "external_port": 30080}), ["service"], "a service"),
        (doc(egress={}), ["egress"], "egress"),
        (doc(egress={"URL": "s3://bucket/dir"}), ["egress"], "egress"),
        (doc(job_timeout="60s"), ["job_timeout"], "a job timeout"),
        (doc(s3_out=True), ["s3_out"], "an S3 output"),
        (
            doc(transform={"cmd": ["sh"], "secrets": [{"name": "s", "mount_path": "/s"}]}),
            ["transform.secrets"],
            "a Kubernetes secret",
        ),
        (doc(input=CRON), ["input.cron"], "a cron input"),
        (doc(input={"cross": [PFS, CRON]}), ["input.cross[1].cron"], "a cron input"),
        (
            doc(input={"cross": [CRON, {"cross": [S3, {"pfs": {"repo": "more", "glob": "/"}}]}]}),
            ["input.cross[0].cron", "input.cross[1].cross[0].pfs.s3"],
            "a cron input",
        ),
        (doc(input=S3), ["input.pfs.s3"], "an S3 input"),
        (doc(input=S3, s3_out=True, egress={}), ["egress", "s3_out", "input.pfs.s3"], "egress"),
    ],
)
def test_refused_by_presence(spec: dict[str, Any], fields: list[str], words: str) -> None:
    typed = parse_spec(spec, "x.yaml")
    assert [field for field, _, _ in refusals(typed)] == fields
    with pytest.raises(SpecError) as info:
        check_supported(typed)
    message = str(info.value)
    assert message.startswith(f"pipeline p: {fields[0]}: {words}")
    assert "not supported by the embedded engine" in message and info.value.hint
    assert all(field in message for field in fields)


@pytest.mark.parametrize(
    "spec",
    [
        doc(),
        doc(s3_out=False),
        doc(
            transform={"cmd": ["sh"], "secrets": []}
        ),  # a proto bool: false is the same as absent in Pachyderm
        doc(input={"pfs": {"repo": "data", "glob": "/*", "s3": False}}),
        doc(egress=None, spout=None, service=None),  # null is absent, as in protojson
        doc(input={"cross": [], "pfs": PFS["pfs"]}),  # an empty list is a nil slice
    ],
)
def test_accepted_when_absent(spec: dict[str, Any]) -> None:
    check_supported(parse_spec(spec, "x.yaml"))


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"cron": {}}, "input.cron: a cron input needs a name"),
        ({"pfs": {}}, "input.pfs: a pfs input needs a repo"),
        ({**PFS, "cron": {}}, "input: multiple input types set (pfs, cron)"),
        ({"cross": [PFS, {"cron": {}}]}, "input.cross[1].cron: a cron input needs a name"),
    ],
)
def test_empty_input_objects_are_set(node: dict[str, Any], message: str) -> None:
    """`{}` is a set message in protojson: pachd validates it, it is never silently dropped."""
    with pytest.raises(SpecError) as info:
        parse_spec(doc(input=node), "x.yaml")
    assert str(info.value).startswith(f"x.yaml: {message}")
