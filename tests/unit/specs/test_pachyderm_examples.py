"""Every pipeline spec file under Pachyderm's `examples/` (2.12.x), read as pachctl reads it.

The 61 files are vendored unchanged in tests/fixtures/pachyderm_examples (see its NOTICE). Each
row says what capstone does with one file on the embedded engine: `ok` (accepted: every spec it
holds is valid and runnable here), the field the engine refuses, or the validation error pachd
would give as well. A file added upstream without a row fails `test_every_file_has_a_row`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.engine.unsupported import check_supported
from capstone_cli.errors import SpecError
from capstone_cli.specs.parse import load_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "pachyderm_examples"

# jsonnet templates: the --arg values their READMEs pass (pachctl ... --jsonnet F --arg K=V)
TEMPLATE_ARGS: dict[str, dict[str, str]] = {
    "group/pipelines/lab/lab_group_by_hospital.jsonnet": {"suffix": "1"},
    "group/pipelines/lab/lab_group_by_patient.jsonnet": {"suffix": "1"},
    "group/pipelines/retail/retail_group.jsonnet": {"suffix": "1", "tag": "1.0"},
    "joins/pipelines/outer/outer_join.jsonnet": {"suffix": "1", "tag": "1.0"},
    "opencv/jsonnet/edges.jsonnet": {"suffix": "1", "src": "images"},
    "opencv/jsonnet/montage.jsonnet": {"suffix": "1", "left": "images", "right": "edges-1"},
}

OK = "ok"
# file -> the pipelines it holds (in file order) and the outcome
EXPECTED: dict[str, tuple[list[str], str]] = {
    "churn/churn.pipeline.json": (["churn"], "churn: egress: egress is not supported"),
    "db/query.pipeline.json": (["query"], "secrets: a Kubernetes secret is not supported"),
    "deferred-processing/automated_deferred_processing/branch-mover-no-auth.pipeline.json": (
        ["branch-mover"],
        "input.cron: a cron input is not supported",
    ),
    "deferred-processing/automated_deferred_processing/branch-mover.pipeline.json": (
        ["branch-mover"],
        "secrets: a Kubernetes secret is not supported by the embedded engine (also: input.cron)",
    ),
    "deferred-processing/deferred_processing_plus_transactions/edges_dp.pipeline.json": (
        ["edges_dp"],
        OK,
    ),
    "deferred-processing/deferred_processing_plus_transactions/montage_dp.pipeline.json": (
        ["montage_dp"],
        OK,
    ),
    "gatk/joint-call.pipeline.json": (["joint_call"], OK),
    "gatk/likelihoods.pipeline.json": (["likelihoods"], OK),
    "globalID/pipelines/edges.pipeline.json": (["edges"], OK),
    "globalID/pipelines/montage.pipeline.json": (["montage"], OK),
    "group/pipelines/lab/lab_group_by_hospital.jsonnet": (
        ["group_by_hospital_1", "reduce_group_by_hospital_1"],
        OK,
    ),
    "group/pipelines/lab/lab_group_by_hospital.pipeline.json": (["group_by_hospital"], OK),
    "group/pipelines/lab/lab_group_by_patient.jsonnet": (
        ["group_by_patient_1", "reduce_group_by_patient_1"],
        OK,
    ),
    "group/pipelines/lab/lab_group_by_patient.pipeline.json": (["group_by_patient"], OK),
    "group/pipelines/lab/reduce_group_by_hospital.pipeline.json": (
        ["reduce_group_by_hospital"],
        OK,
    ),
    "group/pipelines/lab/reduce_group_by_patient.pipeline.json": (["reduce_group_by_patient"], OK),
    "group/pipelines/retail/retail_group.jsonnet": (["group_store_revenue_1"], OK),
    "group/pipelines/retail/retail_group.pipeline.json": (["group_store_revenue"], OK),
    "joins/pipelines/inner/inner_join.pipeline.json": (["inner_join"], OK),
    "joins/pipelines/inner/reduce_inner.pipeline.json": (["reduce_inner"], OK),
    "joins/pipelines/outer/outer_join.jsonnet": (["outer_join_1", "reduce_outer_1"], OK),
    "joins/pipelines/outer/outer_join.pipeline.json": (["outer_join"], OK),
    "joins/pipelines/outer/reduce_outer.pipeline.json": (["reduce_outer"], OK),
    "kubeflow/mnist/pipeline.yaml": (
        ["mnist"],
        "s3_out: an S3 output is not supported by the embedded engine (also: input.pfs.s3)",
    ),
    "kubeflow/mnist/standalone_pipeline.yaml": (
        ["trigger-mnist"],
        "s3_out: an S3 output is not supported by the embedded engine (also: input.pfs.s3)",
    ),
    "ml/gpt-2/generate.pipeline.json": (["generate"], OK),  # a GPU request: used where there is one
    "ml/gpt-2/train.pipeline.json": (["train"], OK),  # a GPU request: used where there is one
    "ml/gpt-2/tweets.pipeline.json": (["tweets"], OK),
    "ml/housing-prices/regression.pipeline.json": (["regression"], OK),
    "ml/hyperparameter/model.pipeline.json": (["model"], OK),
    "ml/hyperparameter/select.pipeline.json": (["select"], OK),
    "ml/hyperparameter/split.pipeline.json": (["split"], OK),
    "ml/hyperparameter/test.pipeline.json": (["test"], OK),
    "ml/iris/julia_infer.pipeline.json": (["inference"], OK),
    "ml/iris/julia_train.pipeline.json": (["model"], OK),
    "ml/iris/python_infer.pipeline.json": (["inference"], OK),
    "ml/iris/python_train.pipeline.json": (["model"], OK),
    "ml/iris/rstats_infer.pipeline.json": (["inference"], OK),
    "ml/iris/rstats_train.pipeline.json": (["model"], OK),
    "ml/neon/infer.pipeline.json": (["inference"], OK),
    "ml/neon/train.pipeline.json": (["model"], OK),
    # JSON objects separated by `---` lines
    "ml/tensorflow/pre-processing_and_generation.pipeline.json": (
        ["preprocess_images", "generate_images"],
        OK,
    ),
    "ml/tensorflow/training_and_export.pipeline.json": (["checkpoint", "model"], OK),
    "ml/tensorflow/training_and_export_gpu.pipeline.json": (["checkpoint", "model"], OK),
    "opencv/edges-union.pipeline.json": (["edges"], OK),
    "opencv/edges.pipeline.json": (["edges"], OK),
    "opencv/jsonnet/edges.jsonnet": (["edges-1"], OK),
    "opencv/jsonnet/montage.jsonnet": (["montage-1"], OK),
    "opencv/montage.pipeline.json": (["montage"], OK),
    # pachd refuses these two as well: a pfs input without a glob, a placeholder name
    "redshift/pipeline.pipeline.json": ([], "input.pfs: a pfs input needs a glob"),
    "run/config/pipeline.pipeline.json": ([], "invalid pipeline name '$PIPELINE_NAME'"),
    "scraper/scraper.pipeline.json": (
        ["scraper"],
        "input.cross[1].cron: a cron input is not supported",
    ),
    "shuffle/shuffle.pipeline.json": (["shuffle"], OK),
    "spark/pi/estimate_pi.pipeline.json": (["estimate_pi"], OK),
    "spouts/go-rabbitmq-spout/pipelines/spout.pipeline.json": (
        ["rabbitmq-spout"],
        "spout: a spout pipeline is not supported",
    ),
    "spouts/spout101/pipelines/processor.pipeline.json": (["processor"], OK),
    "spouts/spout101/pipelines/spout.pipeline.json": (
        ["spout"],
        "spout: a spout pipeline is not supported",
    ),
    "transactions/model.pipeline.json": (["model"], OK),
    "word_count/pipelines/map.pipeline.json": (["map"], OK),
    "word_count/pipelines/reduce.pipeline.json": (["reduce"], OK),
    "word_count/pipelines/scraper.pipeline.json": (["scraper"], OK),
}


# the code, Makefiles and data tests/e2e/test_pachyderm_examples.py runs (see NOTICE): not specs
EXAMPLE_CODE = {
    "group/Dockerfile",
    "group/Makefile",
    "group/src/main.py",
    "joins/Dockerfile",
    "joins/Makefile",
    "joins/src/inner/main.py",
    "joins/src/outer/main.py",
    "shuffle/apple.jpeg",
    "shuffle/apple.json",
    "shuffle/mango.jpeg",
    "shuffle/mango.json",
}


def test_every_file_has_a_row() -> None:
    files = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*") if p.is_file()}
    files -= {"NOTICE", *EXAMPLE_CODE}
    assert files == set(EXPECTED)
    assert len(files) == 61


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_spec(name: str) -> None:
    names, outcome = EXPECTED[name]
    path = EXAMPLES / name
    args = TEMPLATE_ARGS.get(name) if path.suffix == ".jsonnet" else None
    try:
        specs = load_specs(path, args)
    except SpecError as error:  # refused while reading or validating, as pachctl/pachd do
        assert not names and outcome != OK
        assert str(error).startswith(str(path)) and outcome in str(error), str(error)
        return
    assert [spec.name for spec in specs] == names
    refused = []
    for spec in specs:
        try:
            check_supported(spec)
        except SpecError as error:
            refused.append(str(error))
    if outcome == OK:
        assert refused == []
    else:
        assert len(refused) == 1 and outcome in refused[0], refused
