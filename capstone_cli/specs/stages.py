"""Stage definitions (`specs/*.yaml`) and their rendering into Pachyderm 2.x pipeline specs.

A stage file names its worker module, its input (Pachyderm's input syntax), its parameters and
resources; `specs/defaults.yaml` holds what every stage shares (project, worker image and tag,
resources). Rendering is pure: the same files give byte-identical JSON, so `render --check`
can tell when committed specs are stale.

Parameters reach the worker as one JSON environment variable, `CAPSTONE_PARAMS`, so a change of
parameters is a change of the pipeline's transform. What re-runs what:
- a parameter or worker-image change re-runs every datum of THAT pipeline (`apply` updates it
  with reprocess, which changes the salt on both backends); downstream pipelines re-run only
  the datums whose inputs actually changed (content-hash skipping);
- any other change (description, parallelism, resources, timeouts) updates the pipeline
  without re-running anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from capstone_cli.engine.names import check_pipeline_name
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.errors import CapstoneError, NotFoundError, SpecError
from capstone_cli.protocol.params_env import PARAMS_ENV
from capstone_cli.specs.param_rules import check_params

STAGE_ORDER = ("images", "features", "consolidate", "model", "predict")
TRAINING_STAGES = STAGE_ORDER[:4]


@dataclass(frozen=True)
class Defaults:
    """`specs/defaults.yaml`."""

    project: str = "default"
    image: str = "capstone-worker"
    tag: str = "latest"
    resources: dict[str, Any] = field(default_factory=dict)

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"


@dataclass(frozen=True)
class Stage:
    """One `specs/<stage>.yaml`."""

    stage: str
    worker: str
    input: dict[str, Any]
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    parallelism: int = 1
    autoscaling: bool = False
    datum_batching: bool = False
    datum_tries: int = 3
    datum_timeout: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    params_from: list[str] = field(default_factory=list)  # stages whose params it also needs
    source: str = ""


_TYPES: dict[str, type | tuple[type, ...]] = {
    "stage": str,
    "worker": str,
    "input": dict,
    "description": str,
    "params": dict,
    "parallelism": int,
    "autoscaling": bool,
    "datum_batching": bool,
    "datum_tries": int,
    "datum_timeout": str,
    "resources": dict,
    "env": dict,
    "project": str,
    "image": str,
    "tag": (str, int, float),
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"{path}{line}: YAML syntax error: {problem}", hint="fix the YAML syntax at that line"
        ) from None
    except OSError as exc:
        raise NotFoundError(f"{path}: {exc.strerror}", hint="check the specs directory") from None
    if not isinstance(doc, dict):
        raise SpecError(
            f"{path}: expected a mapping of stage fields",
            hint="see specs/images.yaml for the shape of a stage file",
        )
    return doc


def _typed(cls: type[Any], doc: dict[str, Any], source: str) -> Any:
    names = {f.name for f in fields(cls)} - {"source"}
    for key, value in doc.items():
        if key not in names:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(names), n=1)
            raise SpecError(
                f"{source}: {key}: unknown field",
                hint=f"did you mean `{close[0]}`?" if close else f"known fields: {sorted(names)}",
            )
        expected = _TYPES.get(key)
        ok = expected is None or (
            isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        )
        if not ok:
            want = expected.__name__ if isinstance(expected, type) else "a scalar"
            raise SpecError(
                f"{source}: {key}: expected {want}, got {type(value).__name__} ({value!r})",
                hint=f"change `{key}` to a {want}",
            )
    kwargs = dict(doc)
    if cls is Stage:
        kwargs["source"] = source
        for required in ("stage", "worker", "input"):
            if required not in doc:
                raise SpecError(
                    f"{source}: {required}: missing required field",
                    hint=f"add `{required}:` to the stage file",
                )
    elif "tag" in kwargs:
        kwargs["tag"] = str(kwargs["tag"])
    return cls(**kwargs)


def load_defaults(specs_dir: Path) -> Defaults:
    path = specs_dir / "defaults.yaml"
    if not path.exists():
        return Defaults()
    defaults: Defaults = _typed(Defaults, _read_yaml(path), str(path))
    return defaults


def load_stage(path: Path) -> Stage:
    stage: Stage = _typed(Stage, _read_yaml(path), str(path))
    check_pipeline_name(stage.stage)
    if path.stem != stage.stage:
        raise SpecError(
            f"{path}: stage: {stage.stage!r} does not match the file name",
            hint=f"rename the file to {stage.stage}.yaml or fix `stage:`",
        )
    return stage


def stage_files(specs_dir: Path, names: list[str] | None = None) -> list[Path]:
    """The stage files to use, in DAG order; all of them when `names` is empty."""
    if not specs_dir.is_dir():
        raise NotFoundError(
            f"specs directory {specs_dir} not found",
            hint="pass an existing --specs DIR, or omit it to use the project's specs/",
        )
    available = {p.stem: p for p in specs_dir.glob("*.yaml") if p.stem != "defaults"}
    wanted = names or sorted(available, key=_order)
    missing = [n for n in wanted if n not in available]
    if missing:
        raise NotFoundError(
            f"no stage named {missing[0]!r} in {specs_dir}",
            hint=f"stages: {', '.join(sorted(available, key=_order))}",
        )
    return [available[n] for n in sorted(wanted, key=_order)]


def _order(name: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER), name)


def stage_params(stage: Stage, specs_dir: Path | None) -> dict[str, Any]:
    """The stage's params, plus `params[<other>]` for each stage in `params_from`.

    The model stage records how features were extracted (predict must extract them the same
    way), so it takes the features stage's params from `specs/features.yaml`: one source.
    """
    params = dict(stage.params)
    for other in stage.params_from:
        if specs_dir is None or not (specs_dir / f"{other}.yaml").exists():
            raise SpecError(
                f"{stage.source}: params_from: no stage {other!r}",
                hint=f"add specs/{other}.yaml or remove it from params_from",
            )
        params[other] = load_stage(specs_dir / f"{other}.yaml").params
    check_params(stage.worker, params, stage.source, stage.params_from, specs_dir)
    return params


def render(stage: Stage, defaults: Defaults, specs_dir: Path | None = None) -> dict[str, Any]:
    """The Pachyderm 2.x CreatePipelineRequest (camelCase JSON) of one stage."""
    params = stage_params(stage, specs_dir)
    transform: dict[str, Any] = {
        "image": defaults.image_ref,
        "cmd": ["python3", "-m", stage.worker, "--out", "/pfs/out"],
        "env": {**stage.env, PARAMS_ENV: json.dumps(params, sort_keys=True)},
    }
    if stage.datum_batching:
        transform["datumBatching"] = True
    spec: dict[str, Any] = {
        "pipeline": {"name": stage.stage, "project": {"name": defaults.project}},
        "description": stage.description,
        "transform": transform,
        "input": stage.input,
        "parallelismSpec": {"constant": stage.parallelism},
        "datumTries": stage.datum_tries,
    }
    if stage.autoscaling:
        spec["autoscaling"] = True
    if stage.datum_timeout:
        spec["datumTimeout"] = stage.datum_timeout
    resources = {**defaults.resources, **stage.resources}
    if resources:
        spec["resourceRequests"] = resources
    from capstone_cli.specs.parse import canonicalize

    return canonicalize(spec, stage.source)


def render_typed(
    specs_dir: Path, names: list[str] | None = None
) -> list[tuple[Stage, dict[str, Any], PipelineSpec]]:
    """Load, render and validate stages with the Pachyderm spec rules, in DAG order; each
    with its rendered JSON and the typed spec it parses to (parsed once)."""
    from capstone_cli.specs.parse import check_dag, parse_spec

    defaults = load_defaults(specs_dir)
    out: list[tuple[Stage, dict[str, Any], PipelineSpec]] = []
    for path in stage_files(specs_dir, names):
        stage = load_stage(path)
        spec = render(stage, defaults, specs_dir)
        try:
            typed = parse_spec(json.loads(json.dumps(spec)), str(path))
        except CapstoneError as exc:
            raise SpecError(
                f"rendered spec of {path} is invalid: {exc.message}", hint=exc.hint
            ) from exc
        out.append((stage, spec, typed))
    check_dag([typed for _, _, typed in out])
    return out


def render_and_validate(
    specs_dir: Path, names: list[str] | None = None
) -> list[tuple[Stage, dict[str, Any]]]:
    """`render_typed` without the typed specs."""
    return [(stage, spec) for stage, spec, _ in render_typed(specs_dir, names)]


def rendered_text(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=False) + "\n"


def write_rendered(specs_dir: Path, out_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Write `<out_dir>/<stage>.json` for each stage; returns the files written. Every stage
    is rendered and validated first, so an invalid one leaves nothing written."""
    rendered = render_and_validate(specs_dir, names)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stage, spec in rendered:
        target = out_dir / f"{stage.stage}.json"
        target.write_text(rendered_text(spec))
        written.append(target)
    return written


def stale_rendered(specs_dir: Path, out_dir: Path, names: list[str] | None = None) -> list[str]:
    """Stages whose file in `out_dir` is missing or differs from a fresh render."""
    stale = []
    for stage, spec in render_and_validate(specs_dir, names):
        target = out_dir / f"{stage.stage}.json"
        if not target.exists() or target.read_text() != rendered_text(spec):
            stale.append(stage.stage)
    return stale


def reprocess_needed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A parameter or worker-image change re-runs the pipeline's datums (see module doc)."""

    def key(spec: dict[str, Any]) -> tuple[Any, Any]:
        transform = spec.get("transform", {})
        env = transform.get("env", {}) or {}
        return env.get(PARAMS_ENV), transform.get("image")

    return key(old) != key(new)
