"""Stage parameter schemas: defaults written once, resolved and checked the same way."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from capstone_cli.errors import SpecError
from capstone_cli.protocol import stage_params
from capstone_cli.specs.param_rules import check_params
from capstone_cli.specs.stages import STAGE_ORDER


def test_every_stage_has_a_schema_whose_defaults_validate() -> None:
    assert set(stage_params.STAGE_PARAMS) == set(STAGE_ORDER)
    for stage in STAGE_ORDER:
        schema = stage_params.schema(stage)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(stage_params.defaults(stage))


@pytest.mark.parametrize("layer", ["top", "conv3_block4_out", "conv4_block6_out"])
def test_features_layer_accepts_top_or_a_layer_name(layer: str) -> None:
    resolved = stage_params.resolve("features", {"layer": layer})
    assert resolved == {**stage_params.defaults("features"), "layer": layer}
    check_params("workers.features", {"layer": layer}, "features.yaml", (), None)


def test_features_weights_default_is_offline() -> None:
    """`imagenet` downloads at run time; the default works on a machine without the internet."""
    assert stage_params.defaults("features")["weights"] == "none"
    assert stage_params.defaults("model")["features"] == stage_params.defaults("features")


def test_defaults_are_copies() -> None:
    stage_params.defaults("model")["features"]["seed"] = 99
    assert stage_params.defaults("model")["features"]["seed"] == 0


def test_resolve_overlays_given_values_on_defaults() -> None:
    resolved = stage_params.resolve("model", {"epochs": 3, "features": {"image_size": 64}})
    assert resolved["epochs"] == 3 and resolved["units"] == 128
    assert resolved["features"] == {**stage_params.defaults("features"), "image_size": 64}


@pytest.mark.parametrize(
    ("stage", "params", "message"),
    [
        ("model", {"epochs": "many"}, "model.epochs: expected integer, got 'many'"),
        ("model", {"epochs": 0}, "model.epochs: must be >= 1, got 0"),
        ("model", {"epochs": True}, "model.epochs: expected integer, got True"),
        ("model", {"dropout": 1.0}, "model.dropout: must be < 1, got 1.0"),
        ("model", {"glove_path": 3}, "model.glove_path: expected string or null, got 3"),
        ("model", {"features": {"weigths": "none"}}, "model.features: unknown parameter(s)"),
        ("model", {"features": []}, "model.features: expected an object"),
        ("features", {"backbone": "vgg"}, "features.backbone: expected one of ['resnet50']"),
        ("features", {"image_size": 16}, "features.image_size: must be >= 32, got 16"),
        ("features", {"weights": ""}, "features.weights: must not be empty"),
        ("features", {"layer": ""}, "features.layer: must not be empty"),
        ("features", {"layer": 5}, "features.layer: expected string, got 5"),
        ("model", {"features": {"layer": []}}, "model.features.layer: expected string"),
        ("images", {"read_timeout": 0}, "images.read_timeout: must be > 0, got 0"),
        ("images", {"concurency": 2}, "images: unknown parameter(s): concurency"),
        ("predict", {"beam_width": 2.5}, "predict.beam_width: expected integer, got 2.5"),
        ("predict", {"beam_width": 2.0}, "predict.beam_width: expected integer, got 2.0"),
    ],
)
def test_resolve_names_the_bad_field(stage: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        stage_params.resolve(stage, params)
    assert message in str(info.value)
    # `capstone render` (jsonschema) refuses the same value, naming the same field
    field = message.split(":")[0].partition(".")[2] or "unknown parameter"
    with pytest.raises(SpecError, match=field):
        check_params(f"workers.{stage}", params, f"{stage}.yaml", (), None)
