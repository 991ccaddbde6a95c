"""Each stage's parameters: their schema and their defaults, written once.

The stage files (`specs/<stage>.yaml`) set parameters, the workers read them with the defaults
filled in (`resolve`), and `capstone render`/`apply` validate them against these schemas
(`capstone_cli.specs.param_rules`, with jsonschema) before anything runs, so `epochs: "many"`
fails at render with file, line and field instead of after the images and features stages
have run. The schemas are plain JSON Schema (draft 2020-12) with a `default` for every
property; this module is standard library only because the workers import it in their image.

Decision, features `weights`: the default is `"none"` (random initialisation from `seed`,
identical in every process). `"imagenet"` makes Keras download weights at run time, which a
machine without the internet cannot do; users who have them (or a local `.h5` file) set it in
`specs/features.yaml`.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]

MIB = 1024 * 1024


def _object(properties: dict[str, Schema]) -> Schema:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _count(default: int, minimum: int = 1) -> Schema:
    return {"type": "integer", "minimum": minimum, "default": default}


def _seconds(default: float) -> Schema:
    return {"type": "number", "exclusiveMinimum": 0, "default": default}


FEATURES: Schema = _object(
    {
        "backbone": {"type": "string", "enum": ["resnet50"], "default": "resnet50"},
        # "none", "imagenet" or the path of a local weights file (see the module doc)
        "weights": {"type": "string", "minLength": 1, "default": "none"},
        "seed": _count(0, minimum=0),
        "batch_size": _count(32),
        # ResNet50's smallest input is 32; 96 is the offline images' own scale (see `layer`)
        "image_size": _count(96, minimum=32),
        # the backbone layer whose output is average-pooled into the feature vector: "top"
        # (the tutorial's: the last block, 2048-d) or a Keras layer name. Decision: with random
        # weights, shape survives an intermediate block and is lost at the top (offline set:
        # make demo held-out BLEU-4 0.743 -> 0.836; benchmarks/RESULTS.md, issue 18)
        "layer": {"type": "string", "minLength": 1, "default": "conv3_block4_out"},
    }
)

STAGE_PARAMS: dict[str, Schema] = {
    "images": _object(
        {
            "image_size": _count(224),
            "max_pixels": _count(50_000_000),  # a decompression bomb is rejected above this
            "concurrency": _count(16),
            # pixels decoded at once by all threads (a transparent PNG costs ~13 bytes a pixel
            # while decoded, flattened and resized): 50 M keeps the stage under its 2Gi request
            # while photos still decode `concurrency` at a time (benchmarks/bench_images_rss.py)
            "pixels_in_flight": _count(50_000_000),
            # local image paths are read only below this directory (null: no such fence here;
            # `capstone train` checks the TSV's folder before uploading)
            "local_root": {"type": ["string", "null"], "default": None},
            "connect_timeout": _seconds(5.0),
            "read_timeout": _seconds(15.0),
            "total_timeout": _seconds(60.0),  # per line, retries included: stops a drip
            "max_bytes": _count(20 * MIB),
            "max_redirects": _count(5, minimum=0),
            "retries": _count(2, minimum=0),
            "backoff": {"type": "number", "minimum": 0, "default": 0.25},
        }
    ),
    "features": FEATURES,
    "consolidate": _object({"feature_dim": _count(2048)}),  # only used for an empty shard
    "model": _object(
        {
            # 10 epochs of 128 at a cosine-decayed 0.003: the offline demo's 1,600 training
            # images in ~90 s on 2 cores (issue 18; benchmarks/RESULTS.md)
            "epochs": _count(10),
            "batch_size": _count(128),
            "max_len": _count(12),
            "vocab_size": _count(5000),
            "embedding_dim": _count(64),
            "units": _count(128),
            "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.2},
            "learning_rate": _seconds(0.003),
            "seed": _count(0, minimum=0),
            "glove_path": {"type": ["string", "null"], "default": None},
            "val_fraction": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.2},
            # cosine: the rate decays from learning_rate to 1% of it over the whole run
            "lr_schedule": {
                "type": "string",
                "enum": ["constant", "cosine"],
                "default": "cosine",
            },
            # captions held at once to shuffle (the model stage streams the shards; 0: in order)
            "shuffle_captions": _count(1024, minimum=0),
            # image features PCA-whitened to this many components (fit on a sample of at most
            # 4096 training rows) before the model; 0: standardise each dimension instead
            "feature_pca": _count(64, minimum=0),
            "eval_images": _count(1000, minimum=0),  # held-out images captioned for BLEU
            # how features were extracted (the features stage's params, via `params_from`),
            # recorded in saved/params.json so predict extracts them the same way
            "features": FEATURES,
        }
    ),
    "predict": _object({"beam_width": _count(1), "batch_size": _count(16)}),
}


def schema(stage: str) -> Schema:
    """The parameter schema of `stage`; KeyError for a stage this module does not know."""
    return STAGE_PARAMS[stage]


def defaults(stage: str) -> dict[str, Any]:
    """Every parameter of `stage` with its default (nested objects filled in too)."""
    return _defaults(schema(stage))


def _defaults(node: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, prop in node["properties"].items():
        out[name] = (
            _defaults(prop) if prop.get("type") == "object" else copy.deepcopy(prop["default"])
        )
    return out


def resolve(stage: str, params: dict[str, Any]) -> dict[str, Any]:
    """The defaults of `stage` overlaid with `params`; ValueError names the first bad field.

    The workers call this, so parameters that never went through `capstone render` (a
    hand-written Pachyderm spec, `--params` on the command line) are checked too.
    """
    return _resolve(schema(stage), params, stage)


def _resolve(node: Schema, params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ValueError(f"{where}: expected an object, got {params!r}")
    properties: dict[str, Schema] = node["properties"]
    unknown = sorted(set(params) - set(properties))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s): {', '.join(map(str, unknown))}")
    out = _defaults(node)
    for name, value in params.items():
        prop = properties[name]
        field = f"{where}.{name}"
        if prop.get("type") == "object":
            out[name] = _resolve(prop, value, field)
            continue
        problem = _check_value(prop, value)
        if problem:
            raise ValueError(f"{field}: {problem}")
        out[name] = value
    return out


_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _check_value(prop: Schema, value: Any) -> str:
    """Why `value` does not fit the scalar schema `prop` ("" when it does)."""
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    fits = any(
        isinstance(value, _TYPES[kind]) and (kind == "boolean" or not isinstance(value, bool))
        for kind in kinds
    )
    if not fits:
        return f"expected {' or '.join(kinds)}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        if "enum" in prop and value not in prop["enum"]:
            return f"expected one of {prop['enum']}, got {value!r}"
        if isinstance(value, str) and len(value) < prop.get("minLength", 0):
            return "must not be empty"
        return ""
    if "minimum" in prop and value < prop["minimum"]:
        return f"must be >= {prop['minimum']}, got {value!r}"
    if "exclusiveMinimum" in prop and value <= prop["exclusiveMinimum"]:
        return f"must be > {prop['exclusiveMinimum']}, got {value!r}"
    if "exclusiveMaximum" in prop and value >= prop["exclusiveMaximum"]:
        return f"must be < {prop['exclusiveMaximum']}, got {value!r}"
    return ""
