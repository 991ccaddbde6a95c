"""Pipeline spec reading, validation, defaults and DAG checks (capstone_cli.specs.parse)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from capstone_cli.engine.inputs import CronInput, CrossInput, JoinInput, PfsInput, UnionInput
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.errors import NotFoundError, SpecError
from capstone_cli.specs.parse import (
    canonicalize,
    check_dag,
    clean_path,
    cron_problem,
    load_spec_documents,
    load_specs,
    parse_duration,
    parse_spec,
    request_flags,
    spec_warnings,
    to_snake,
    topological_order,
)

SRC = "specs/x.yaml"


def base(**extra: Any) -> dict[str, Any]:
    """A minimal valid spec (snake_case), with top-level overrides."""
    doc: dict[str, Any] = {
        "pipeline": {"name": "images"},
        "transform": {"cmd": ["python3"], "image": "x"},
        "input": {"pfs": {"repo": "rawdata", "glob": "/*/*"}},
    }
    doc.update(extra)
    return doc


def spec_error(doc: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(doc, SRC)
    assert info.value.hint, "every spec error carries a hint"
    return info.value


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- §1.7 experiment table: what the official schema says, and what capstone does -----------

SAMPLE = base(parallelism_spec={"constant": 20})


@pytest.mark.parametrize(
    ("doc", "error_part"),
    [
        # snake_case is canonicalised, as pachctl does; the raw schema would reject it
        (SAMPLE, None),
        (base(parallelismSpec={"constant": 20}), None),
        (base(parallelism_spec={"constnt": 20}), "parallelism_spec.constnt: unknown field"),
        ({**base(), "transfrom": {"cmd": ["a"]}}, "transfrom: unknown field"),
        (base(input={"pfs": {"repo": "r", "globb": "/"}}), "input.pfs.globb: unknown field"),
        (base(transform={"cmd": ["a"], "imagee": "x"}), "transform.imagee: unknown field"),
        (base(input={"pfs": {"repo": "r", "glob": "/(*)", "join_on": "$1"}}), None),
        (base(enableStats=True), "enableStats: was removed"),
        (base(standby=True), "standby: was removed"),
        # int64 as decimal strings: protojson accepts them
        (base(parallelism_spec={"constant": "20"}, datumTries="3"), None),
        (base(jobTimeout="1h"), "job_timeout: invalid duration '1h'"),
        (base(tolerations=[{"operator": "Exists"}]), "tolerations[0].operator: 'Exists'"),
        (base(tolerations=[{"operator": "EXISTS", "effect": "NO_SCHEDULE"}]), None),
        (base(reprocessSpec="sometimes"), "reprocess_spec: 'sometimes' is not allowed"),
        (base(input={"pfs": {"repo": "r"}}), "input.pfs: a pfs input needs a glob"),
        (base(input={}), "input: no input set"),
        (
            base(input={"pfs": {"repo": "r", "glob": "/"}, "cross": [{"pfs": {"repo": "s"}}]}),
            "input: multiple input types set",
        ),
        (base(pipeline={"name": "bad name!"}), "pipeline.name: invalid pipeline name"),
        (
            base(
                input={
                    "cross": [
                        {"union": [{"pfs": {"repo": "a", "glob": "/*"}}]},
                        {"cron": {"name": "tick", "spec": "@every 10s"}},
                    ]
                },
                transform={"cmd": ["a"], "datum_batching": True},
                autoscaling=True,
                tolerations=[{"key": "k", "operator": "EQUAL", "value": "v"}],
                resource_requests={"cpu": 0.5, "gpu": {"type": "nvidia", "number": 1}},
            ),
            None,
        ),
    ],
)
def test_experiment_table(doc: dict[str, Any], error_part: str | None) -> None:
    if error_part is None:
        assert isinstance(parse_spec(doc, SRC), PipelineSpec)
    else:
        message = str(spec_error(doc))
        assert message.startswith(f"{SRC}: ")
        assert error_part in message


# --- snake vs camel, maps, to_snake -----------------------------------------------------------


def test_snake_and_camel_give_the_same_spec() -> None:
    snake = base(
        parallelism_spec={"constant": 2},
        datum_tries=5,
        output_branch="out2",
        transform={"cmd": ["a"], "err_cmd": ["b"], "accept_return_code": [3], "working_dir": "/w"},
        input={"pfs": {"repo": "r", "glob": "/*", "empty_files": True, "outer_join": True}},
    )
    camel = base(
        parallelismSpec={"constant": 2},
        datumTries=5,
        outputBranch="out2",
        transform={"cmd": ["a"], "errCmd": ["b"], "acceptReturnCode": [3], "workingDir": "/w"},
        input={"pfs": {"repo": "r", "glob": "/*", "emptyFiles": True, "outerJoin": True}},
    )
    assert parse_spec(snake, SRC) == parse_spec(camel, SRC)


def test_map_keys_are_never_renamed() -> None:
    doc = base(
        transform={"cmd": ["a"], "env": {"my_var": "1", "otherVar": "2"}},
        metadata={"labels": {"team_name": "x"}},
        scheduling_spec={"node_selector": {"disk_type": "ssd"}},
    )
    canonical = canonicalize(doc, SRC)
    assert canonical["transform"]["env"] == {"my_var": "1", "otherVar": "2"}
    assert canonical["metadata"]["labels"] == {"team_name": "x"}
    assert canonical["schedulingSpec"]["nodeSelector"] == {"disk_type": "ssd"}
    assert to_snake(canonical)["scheduling_spec"]["node_selector"] == {"disk_type": "ssd"}
    assert parse_spec(doc, SRC).transform.env == {"my_var": "1", "otherVar": "2"}


def test_both_spellings_of_one_field_are_refused() -> None:
    with pytest.raises(SpecError, match="given twice"):
        canonicalize(base(datum_tries=2, datumTries=3), SRC)


def test_to_snake_round_trip() -> None:
    spec = parse_spec(base(s3_out=False, datum_set_spec={"size_bytes": 10}), SRC)
    snake = to_snake(spec.effective)
    assert snake["datum_set_spec"] == {"size_bytes": 10}
    assert snake["output_branch"] == "master" and "s3_out" in snake
    assert canonicalize(snake, SRC)["datumSetSpec"] == {"sizeBytes": 10}


def test_request_flags_are_dropped_and_reported() -> None:
    doc = base(update=True, reprocess=True)
    assert request_flags(doc) == {"update": True, "reprocess": True}
    assert "update" not in parse_spec(doc, SRC).effective


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_are_filled() -> None:
    spec = parse_spec(
        {
            "pipeline": {"name": "p"},
            "transform": {"cmd": ["a"]},
            "input": {"pfs": {"repo": "r", "glob": "*/"}},
        },
        SRC,
    )
    assert spec.transform.image == "ubuntu:20.04"
    assert (spec.output_branch, spec.datum_tries, spec.reprocess_spec) == (
        "master",
        3,
        "until_success",
    )
    assert (spec.project, spec.parallelism, spec.source) == ("default", 1, SRC)
    assert spec.input == PfsInput(repo="r", glob="/*", name="r", branch="master", project="default")
    assert spec.effective["transform"] == {"image": "ubuntu:20.04", "cmd": ["a"]}
    assert spec.effective["pipeline"] == {"name": "p", "project": {"name": "default"}}
    assert spec.effective["datumTries"] == 3


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({"datum_tries": 0}, "datum_tries", 3),
        ({"datum_tries": "7"}, "datum_tries", 7),
        ({"parallelism_spec": {"constant": 0}}, "parallelism", 1),
        ({"parallelism_spec": {}}, "parallelism", 1),
        ({"parallelism_spec": {"constant": 4}}, "parallelism", 4),
        ({"datum_timeout": "90s"}, "datum_timeout", 90.0),
        ({"job_timeout": "1.5s"}, "job_timeout", 1.5),
        ({"reprocess_spec": "every_job"}, "reprocess_spec", "every_job"),
        ({"pipeline": {"name": "images", "project": {"name": "ml"}}}, "project", "ml"),
        ({"output_branch": "dev"}, "output_branch", "dev"),
        ({"autoscaling": True}, "autoscaling", True),
        ({"salt": "abc"}, "salt", "abc"),
    ],
)
def test_typed_fields(extra: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(parse_spec(base(**extra), SRC), field) == expected


def test_user_values_override_defaults_in_effective_spec() -> None:
    spec = parse_spec(base(datum_tries=5, transform={"cmd": ["a"], "image": "mine:1"}), SRC)
    assert spec.effective["datumTries"] == 5
    assert spec.effective["transform"]["image"] == "mine:1"


@pytest.mark.parametrize(
    ("glob", "clean"),
    [
        ("/*", "/*"),
        ("*", "/*"),
        ("/*/", "/*"),
        ("a/*", "/a/*"),
        ("/a/./b/../*", "/a/*"),
        ("/", "/"),
        ("//a//b/", "/a/b"),
    ],
)
def test_globs_are_cleaned(glob: str, clean: str) -> None:
    assert clean_path(glob) == clean
    spec = parse_spec(base(input={"pfs": {"repo": "r", "glob": glob}}), SRC)
    assert isinstance(spec.input, PfsInput) and spec.input.glob == clean


def test_combined_inputs_are_sorted_by_input_name() -> None:
    doc = base(
        input={
            "cross": [
                {"pfs": {"repo": "zeta", "glob": "/"}},
                {
                    "join": [
                        {"pfs": {"repo": "m", "glob": "/"}},
                        {"pfs": {"repo": "b", "glob": "/", "name": "k"}},
                    ]
                },
                {"pfs": {"repo": "alpha", "glob": "/", "name": "y"}},
            ]
        }
    )
    spec = parse_spec(doc, SRC)
    assert isinstance(spec.input, CrossInput)
    first, second, third = spec.input.inputs
    assert isinstance(first, JoinInput) and [i.name for i in first.inputs] == ["k", "m"]  # type: ignore[union-attr]
    assert second == PfsInput(repo="alpha", glob="/", name="y")
    assert third == PfsInput(repo="zeta", glob="/", name="zeta")


def test_cron_input_defaults() -> None:
    spec = parse_spec(base(input={"cron": {"name": "tick", "spec": "*/5 * * * *"}}), SRC)
    assert spec.input == CronInput(name="tick", spec="*/5 * * * *", repo="images_tick")


# --- errors name the file and the field -----------------------------------------------------


def test_misspelled_key_deep_in_a_join(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "consolidate.yaml",
        "pipeline: {name: consolidate}\ntransform: {cmd: [a]}\ninput:\n  join:\n"
        '    - pfs: {repo: rawdata, glob: "/(*)", join_on: "$1"}\n'
        '    - pfs: {repo: features, globb: "/(*)", join_on: "$1"}\n',
    )
    with pytest.raises(SpecError) as info:
        load_specs(path)
    assert str(info.value) == f"{path}: input.join[1].pfs.globb: unknown field"
    assert info.value.hint == "did you mean `glob`?"


@pytest.mark.parametrize(
    ("doc", "message", "hint_part"),
    [
        (base(transform={"cmd": "python3"}), "transform.cmd: must be a list, not a string", "list"),
        (base(output_branch=5), "output_branch: must be a string, not a number", "string"),
        (base(datum_tries=True), "datum_tries: must be an integer, not a boolean", "integer"),
        (base(s3_out="yes"), "s3_out: must be true or false, not a string", "true or false"),
        (base(input={"cross": {"pfs": {}}}), "input.cross: must be a list, not a mapping", "list"),
        (base(transform={"cmd": ["a"], "env": {"N": 1}}), "transform.env.N: must be a string", ""),
        (
            base(parallelism_spec={"constant": -1}),
            "parallelism_spec.constant: must not be negative",
            "",
        ),
    ],
)
def test_type_errors_name_the_field(doc: dict[str, Any], message: str, hint_part: str) -> None:
    error = spec_error(doc)
    assert message in str(error)
    assert hint_part in (error.hint or "")


# --- reading files ----------------------------------------------------------------------------


def test_yaml_syntax_error_has_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "pipeline:\n  name: a\ntransform:\n  cmd: [a\n  image: b\n")
    with pytest.raises(SpecError, match=rf"^{path}:\d+: YAML error"):
        load_spec_documents(path)
    path = write(tmp_path, "y.yaml", "pipeline:\n  name: a\n bad: 1\n")
    with pytest.raises(SpecError, match=rf"^{path}:3: YAML error"):
        load_spec_documents(path)


def test_json_syntax_error_has_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.json", '{\n  "pipeline": {"name": "a"},\n  "transform": }\n')
    with pytest.raises(SpecError, match=rf"^{path}:3: JSON syntax error"):
        load_spec_documents(path)


def test_yaml_aliases_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "pipeline: {name: a}\ntransform: &t {cmd: [a]}\nother: *t\n")
    with pytest.raises(SpecError, match=rf"^{path}:3: .*aliases") as info:
        load_spec_documents(path)
    assert "anchor" in (info.value.hint or "")


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "pipeline: {name: a}\npipeline: {name: b}\n")
    with pytest.raises(SpecError, match="duplicate key"):
        load_spec_documents(path)


def test_multi_document_yaml(tmp_path: Path) -> None:
    docs = [
        {"$schema": "x", **base(pipeline={"name": "images"})},
        base(pipeline={"name": "features"}, input={"pfs": {"repo": "images", "glob": "/*"}}),
    ]
    text = "---\n" + "\n---\n".join(json.dumps(d) for d in docs) + "\n---\n"
    path = write(tmp_path, "all.yaml", text)
    read = load_spec_documents(path)
    assert [where for _, where in read] == [f"{path}[0]", f"{path}[1]"]
    assert all("$schema" not in doc for doc, _ in read)
    specs = load_specs(path)
    assert [s.name for s in specs] == ["images", "features"]
    assert specs[1].source == f"{path}[1]"


def test_list_of_specs_and_error_location(tmp_path: Path) -> None:
    bad = base(pipeline={"name": "b"}, input={"pfs": {"repo": "r"}})
    path = write(tmp_path, "list.json", json.dumps([base(pipeline={"name": "a"}), bad]))
    assert len(load_spec_documents(path)) == 2
    with pytest.raises(SpecError, match=rf"^{path}\[1\]: input.pfs: a pfs input needs a glob"):
        load_specs(path)


def test_concatenated_json_objects_and_timestamps(tmp_path: Path) -> None:
    cron = base(input={"cron": {"name": "t", "spec": "@hourly", "start": "2024-01-01T00:00:00Z"}})
    path = write(tmp_path, "c.json", json.dumps(base()) + "\n" + json.dumps(cron))
    assert [where for _, where in load_spec_documents(path)] == [f"{path}[0]", f"{path}[1]"]
    ypath = write(
        tmp_path,
        "c.yaml",
        "pipeline: {name: p}\ntransform: {cmd: [a]}\ninput:\n"
        "  cron: {name: t, spec: '@hourly', start: 2024-01-01T00:00:00Z}\n",
    )
    spec = load_specs(ypath)[0]
    assert isinstance(spec.input, CronInput) and spec.input.start == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("name", "text"), [("e.yaml", ""), ("e2.yaml", "---\n"), ("s.yaml", "just a string\n")]
)
def test_empty_or_non_mapping_files(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(SpecError, match=rf"^{tmp_path / name}"):
        load_spec_documents(write(tmp_path, name, text))


def test_missing_file() -> None:
    with pytest.raises(NotFoundError):
        load_spec_documents(Path("/nonexistent/spec.yaml"))


# --- semantic rules -------------------------------------------------------------------------

PFS = {"repo": "r", "glob": "/"}


@pytest.mark.parametrize(
    ("doc", "error_part"),
    [
        (
            {"pipeline": {"name": "p"}, "input": {"pfs": PFS}},
            "transform: a pipeline must specify a transform",
        ),
        (base(transform={"cmd": []}), "transform.cmd: no command specified"),
        (base(transform={"image": "x"}), "transform.cmd: no command specified"),
        (base(transform={"cmd": ["a"], "image": ""}), "transform.image: empty image"),
        (base(pipeline={}), "pipeline.name: missing"),
        ({"transform": {"cmd": ["a"]}, "input": {"pfs": PFS}}, "pipeline.name: missing"),
        (base(pipeline={"name": "_x"}), "must start with a letter or digit"),
        (base(pipeline={"name": "a" * 52}), "longer than 51"),
        (base(pipeline={"name": "a" * 51, "project": {"name": "longproject"}}), "Kubernetes name"),
        (
            base(input={"pfs": {"repo": "bad/repo", "glob": "/"}}),
            "input.pfs.repo: invalid repo name",
        ),
        (
            base(input={"pfs": {"repo": "r", "glob": "/", "branch": "a b"}}),
            "input.pfs.branch: invalid branch",
        ),
        (base(input={"pfs": {"glob": "/"}}), "input.pfs: a pfs input needs a repo"),
        (
            base(input={"pfs": {**PFS, "commit": "abc"}}),
            "input.pfs.commit: an input cannot come from a commit",
        ),
        (
            base(input={"pfs": {**PFS, "name": "out"}}),
            "input.pfs.name: an input cannot be named 'out'",
        ),
        (base(input={"pfs": {**PFS, "name": ".env"}}), "cannot be named '.env'"),
        (base(input={"pfs": {"repo": "out", "glob": "/"}}), "cannot be named 'out'"),
        (
            base(input={"cross": [{"pfs": PFS}, {"pfs": PFS}]}),
            "input.cross[1].pfs: input name 'r' is used more than once",
        ),
        (
            base(input={"cross": [{"union": [{"pfs": PFS}, {"pfs": PFS}]}, {"pfs": PFS}]}),
            "input.cross[1].pfs: input name 'r' is used more than once",
        ),
        (base(input={"cross": []}), "input: no input set"),
        (base(input={"pfs": {**PFS, "s3": True, "glob": "/*"}}), 's3 inputs must use glob "/"'),
        (
            base(input={"pfs": {**PFS, "s3": True, "lazy": True}}),
            "input.pfs.lazy: cannot be combined with s3",
        ),
        (
            base(input={"pfs": {**PFS, "s3": True, "empty_files": True}}),
            "input.pfs.empty_files: cannot be combined",
        ),
        (
            base(
                input={"join": [{"pfs": {**PFS, "s3": True}}, {"pfs": {"repo": "q", "glob": "/"}}]}
            ),
            "input.join: s3 inputs are not supported inside join",
        ),
        (
            base(input={"cron": {"name": "t", "spec": "every minute"}}),
            "input.cron.spec: cannot parse the cron spec",
        ),
        (base(input={"cron": {"name": "t", "spec": "61 * * * *"}}), "out of range 0-59"),
        (base(input={"cron": {"spec": "@hourly"}}), "input.cron: a cron input needs a name"),
        (
            base(input={"cron": {"name": "t", "spec": "@hourly", "start": "yesterday"}}),
            "input.cron.start",
        ),
        (base(input=None), "input: missing"),
        (
            base(service={"type": "NodePort"}, parallelism_spec={"constant": 2}),
            "services can only run with",
        ),
        (base(service={"type": "Weird"}), "service.type: 'Weird' is not allowed"),
        (base(spout={}), "a spout without a service must not have an input"),
        (
            base(spout={}, input=None, autoscaling=True),
            "autoscaling: autoscaling can't be used with spouts",
        ),
        (
            base(spout={"service": {"type": "NodePort"}}, s3_out=True),
            "s3_out: s3 output is not supported",
        ),
        (base(maximum_expected_uptime="60s"), "maximum_expected_uptime: requires autoscaling"),
        (base(pod_patch="{not json"), "pod_patch: not valid JSON"),
        (base(pod_spec="[1,"), "pod_spec: not valid JSON"),
        (base(tf_job={"tf_job": "x"}), "tf_job: TFJobs are not supported"),
        (base(output_branch=""), "output_branch: empty"),
        (base(datum_tries=-1), "datum_tries: must not be negative"),
        (base(datum_set_spec={"number": 2, "per_worker": 1}), "datum_set_spec.per_worker"),
        (
            base(transform={"cmd": ["a"], "secrets": [{"name": "s", "env_var": "E"}]}),
            "transform.secrets[0]: env_var needs a key",
        ),
    ],
)
def test_semantic_rules(doc: dict[str, Any], error_part: str) -> None:
    doc = {k: v for k, v in doc.items() if v is not None}
    assert error_part in str(spec_error(doc))


@pytest.mark.parametrize(
    "doc",
    [
        base(input={"union": [{"pfs": PFS}, {"pfs": PFS}]}),  # union branches may reuse names
        base(input={"cross": [{"pfs": PFS}, {"pfs": {**PFS, "name": "r2"}}]}),
        base(input={"pfs": {"repo": "out", "glob": "/", "name": "o"}}),
        base(input={"pfs": {"repo": "r", "s3": True}}),
        base(service={"type": "NodePort"}, parallelism_spec={"constant": 1}),
        {"pipeline": {"name": "sp"}, "transform": {"cmd": ["a"]}, "spout": {}},
        base(maximum_expected_uptime="60s", autoscaling=True),
        base(pod_patch='[{"op": "add", "path": "/x", "value": 1}]'),
        base(input={"cron": {"name": "t", "spec": "TZ=UTC 0 */2 1-15 jan-mar mon,fri"}}),
    ],
)
def test_valid_edge_cases(doc: dict[str, Any]) -> None:
    parse_spec(doc, SRC)


# --- 1.x fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field", "hint_part"),
    [
        ({"enable_stats": True}, "enable_stats", "capstone logs"),
        ({"standby": True}, "standby", "autoscaling: true"),
        ({"chunk_spec": {"number": 1}}, "chunk_spec", "datum_set_spec"),
        ({"cache_size": "64M"}, "cache_size", "delete"),
        ({"max_queue_size": 1}, "max_queue_size", "delete"),
        ({"hashtree_spec": {"constant": 1}}, "hashtree_spec", "delete"),
        ({"parallelism_spec": {"coefficient": 1.0}}, "parallelism_spec.coefficient", "constant"),
        (
            {"transform": {"cmd": ["a"], "build": {"language": "python"}}},
            "transform.build",
            "transform.image",
        ),
        ({"input": {"git": {"URL": "https://x"}}}, "input.git", "pfs"),
        ({"input": {"cross": [{"pfs": PFS}, {"git": {}}]}}, "input.cross[1].git", "pfs"),
    ],
)
def test_removed_1x_fields(extra: dict[str, Any], field: str, hint_part: str) -> None:
    error = spec_error(base(**extra))
    assert str(error).startswith(f"{SRC}: {field}: ")
    assert "removed in Pachyderm 2.x" in str(error)
    assert hint_part in (error.hint or "")


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("1h", '"3600s"'),
        ("1h30m", '"5400s"'),
        ("100ms", '"0.1s"'),
        (60, '"60s"'),
        ("soon", '"60s"'),
    ],
)
def test_bad_durations_get_a_seconds_hint(value: Any, hint: str) -> None:
    error = spec_error(base(datum_timeout=value))
    assert str(error).startswith(f"{SRC}: datum_timeout: ")
    assert hint in (error.hint or "")


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("1.5s", 1.5), (".5s", 0.5), ("0s", 0.0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("spec", "ok"),
    [
        ("* * * * *", True),
        ("@every 10s", True),
        ("@every 1h30m", True),
        ("@daily", True),
        ("0 0 * * SUN", True),
        ("*/15 0-6 ? * 1-5", True),
        ("@every soon", False),
        ("@fortnightly", False),
        ("* * * *", False),
        ("0 24 * * *", False),
        ("0 0 * 13 *", False),
        ("*/0 * * * *", False),
        ("", False),
    ],
)
def test_cron_specs(spec: str, ok: bool) -> None:
    assert (cron_problem(spec) is None) is ok


# --- DAG ------------------------------------------------------------------------------------


def pipeline(name: str, *repos: str) -> PipelineSpec:
    node: dict[str, Any] = (
        {"pfs": {"repo": repos[0], "glob": "/*"}}
        if len(repos) == 1
        else {"cross": [{"pfs": {"repo": r, "glob": "/*"}} for r in repos]}
    )
    return parse_spec(base(pipeline={"name": name}, input=node), f"specs/{name}.yaml")


TUTORIAL = [
    pipeline("predict", "inpredict", "model"),
    pipeline("model", "consolidate"),
    pipeline("consolidate", "rawdata", "features"),
    pipeline("features", "images"),
    pipeline("images", "rawdata"),
]


def test_topological_order_of_the_tutorial() -> None:
    names = [s.name for s in topological_order(TUTORIAL)]
    assert names == ["images", "features", "consolidate", "model", "predict"]
    check_dag(
        TUTORIAL, existing_repos={"rawdata", "inpredict", "images"}, existing_pipelines={"images"}
    )


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([pipeline("a", "b"), pipeline("b", "a")], "cycle: a -> b -> a"),
        ([pipeline("a", "c"), pipeline("b", "a"), pipeline("c", "b")], "cycle: a -> b -> c -> a"),
        ([pipeline("a", "a")], "cycle: a -> a"),
        ([pipeline("a", "r"), pipeline("a", "s")], "pipeline 'a' is defined twice"),
    ],
)
def test_dag_errors(specs: list[PipelineSpec], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        check_dag(specs)
    with pytest.raises(SpecError):
        topological_order(specs)


def test_pipeline_named_like_an_existing_repo() -> None:
    with pytest.raises(SpecError, match="repo named 'images' already exists"):
        check_dag([pipeline("images", "rawdata")], existing_repos={"images", "rawdata"})
    check_dag(
        [pipeline("images", "rawdata")], existing_repos={"images"}, existing_pipelines={"images"}
    )


@pytest.mark.parametrize(
    ("image", "warns"),
    [
        ("x", True),
        ("x:latest", True),
        ("reg:5000/x", True),
        ("x:1.0", False),
        ("reg:5000/x:2", False),
        ("x@sha256:ab", False),
    ],
)
def test_image_tag_warnings(image: str, warns: bool) -> None:
    spec = parse_spec(base(transform={"cmd": ["a"], "image": image}), SRC)
    assert bool(spec_warnings(spec)) is warns


def test_parse_does_not_mutate_the_document() -> None:
    doc = base(parallelism_spec={"constant": "2"})
    before = copy.deepcopy(doc)
    parse_spec(doc, SRC)
    assert doc == before
    assert isinstance(parse_spec(doc, SRC).input, PfsInput)
    assert not isinstance(parse_spec(doc, SRC).input, UnionInput)
