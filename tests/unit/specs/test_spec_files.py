"""Spec files as pachctl reads them: YAML streams of JSON or YAML documents, jsonnet templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capstone_cli.errors import SpecError, UsageError
from capstone_cli.specs.jsonnet_reader import parse_template_args
from capstone_cli.specs.parse import load_spec_documents, load_specs


def spec(name: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "pipeline": {"name": name},
        "transform": {"cmd": ["sh"], "image": "x:1"},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
    }
    doc.update(extra)
    return doc


A, B = spec("a"), spec("b", parallelism_spec={"constant": 2})


@pytest.mark.parametrize(
    ("name", "text", "names"),
    [
        # ml/tensorflow's shape: pretty-printed JSON objects separated by `---` lines
        ("two.json", json.dumps(A, indent=2) + "\n---\n" + json.dumps(B, indent=2), "ab"),
        ("lead.json", "---\n" + json.dumps(A) + "\n---\n" + json.dumps(B) + "\n---\n", "ab"),
        ("inline.yaml", "--- " + json.dumps(A) + "\n--- " + json.dumps(B) + "\n", "ab"),
        (
            "mixed.yaml",
            json.dumps(A) + "\n---\npipeline: {name: b}\ntransform: {cmd: [sh]}\n"
            "input: {pfs: {repo: data, glob: /*}}\n",
            "ab",
        ),
        ("list.json", json.dumps([A, B]) + "\n---\n" + json.dumps(spec("c")), "abc"),
        ("comment.yaml", json.dumps(A) + "  # a YAML comment after JSON\n", "a"),
        ("crlf.json", (json.dumps(A) + "\n---\n" + json.dumps(B)).replace("\n", "\r\n"), "ab"),
    ],
)
def test_documents_of_a_stream(tmp_path: Path, name: str, text: str, names: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    specs = load_specs(path)
    assert [s.name for s in specs] == list(names)
    wheres = [f"{path}[{i}]" for i in range(len(names))] if len(names) > 1 else [str(path)]
    assert [s.source for s in specs] == wheres


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("cat.json", json.dumps(A) + "\n" + json.dumps(B), 2, "without a `---` line"),
        ("bad2.json", json.dumps(A) + '\n---\n{\n  "pipeline": }\n', 4, "JSON syntax error"),
        ("bad2.yaml", "pipeline: {name: a}\n---\npipeline:\n  name: b\n bad: 1\n", 5, "YAML error"),
    ],
)
def test_stream_errors_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError, match=rf"^{path}:{line}: .*{message}") as info:
        load_spec_documents(path)
    assert info.value.hint and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("true", True),
        ("False", False),
        ("yes", "yes"),  # YAML 1.2 (yaml.v3): a string, so pachctl refuses it for a bool
        ("on", "on"),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        ("12", 12),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
    ],
)
def test_yaml_scalars_resolve_as_yaml_v3_does(tmp_path: Path, scalar: str, value: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"pipeline: {{name: a}}\ndescription: {scalar}\n")
    assert load_spec_documents(path)[0][0]["description"] == value


TEMPLATE = """
function(name, src, parallelism="1")
{
  pipeline: { name: name },
  transform: { cmd: ["sh", "-c", "cp -r /pfs/" + src + " /pfs/out/"], image: "x:1" },
  input: { pfs: { repo: src, glob: "/*" } },
  parallelism_spec: { constant: std.parseInt(parallelism) },
}
"""

LIST_TEMPLATE = """
function(prefix)
[
  { pipeline: { name: prefix + "-" + n }, transform: { cmd: ["sh"] },
    input: { pfs: { repo: "data", glob: "/*" } } }
  for n in ["one", "two"]
]
"""


def test_jsonnet_template_with_top_level_args(tmp_path: Path) -> None:
    path = tmp_path / "copy.jsonnet"
    path.write_text(TEMPLATE)
    args = parse_template_args(["name=edges", "src=images", "parallelism=3"])
    (only,) = load_specs(path, args)
    assert (only.name, only.parallelism, only.source) == ("edges", 3, str(path))
    assert only.transform.cmd == ("sh", "-c", "cp -r /pfs/images /pfs/out/")
    listed = tmp_path / "list.jsonnet"
    listed.write_text(LIST_TEMPLATE)
    specs = load_specs(listed, {"prefix": "p"})
    assert [(s.name, s.source) for s in specs] == [
        ("p-one", f"{listed}[0]"),
        ("p-two", f"{listed}[1]"),
    ]


def test_template_args_split_at_the_first_equals() -> None:
    assert parse_template_args(["a=b=c", "e="]) == {"a": "b=c", "e": ""}
    with pytest.raises(UsageError, match="key=value"):
        parse_template_args(["novalue"])


@pytest.mark.parametrize(
    ("text", "args", "located", "message"),
    [
        (TEMPLATE, {"name": "x"}, False, "not bound"),  # a parameter without --arg
        (TEMPLATE, {"name": "x", "src": "s", "nope": "1"}, False, "no parameter nope"),
        (TEMPLATE, {"name": "x", "src": "s", "parallelism": "many"}, True, "base 10"),
        ("function(name)\n{ pipeline: { name: name } +\n}\n", {"name": "x"}, True, "unexpected"),
        ('local lib = import "lib.libsonnet";\nlib', {}, True, "imports are not available"),
        ('{ pipeline: error "no name" }\n', {}, True, "no name"),
        ('"just a string"\n', {}, False, "must be a mapping"),
    ],
)
def test_template_errors_are_one_line(
    tmp_path: Path, text: str, args: dict[str, str], located: bool, message: str
) -> None:
    path = tmp_path / "t.jsonnet"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_specs(path, args)
    error = str(info.value)
    assert error.startswith(f"{path}:" if located else f"{path}")
    assert message in error and "\n" not in error and info.value.hint
