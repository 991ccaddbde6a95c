"""Jsonnet pipeline templates, rendered as `pachctl create pipeline --jsonnet FILE --arg K=V` does.

pachctl sends the template text to pachd (`RenderTemplate`), which evaluates it as an anonymous
snippet with every `--arg` bound as a top-level argument (a string; `vm.TLAVar`, not an ext var)
and an importer that holds no local files. The JSON it returns is read like a spec file: one
spec or a list of specs. Here the `jsonnet` package (the C++ implementation's bindings) does
the evaluating, with imports refused: local imports fail on pachd as well, and fetching `http://`
imports at run time is not something capstone does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from capstone_cli.errors import NotFoundError, SpecError, UsageError
from capstone_cli.specs.yaml_reader import parse_spec_text

_IMPORT_REFUSED = "imports are not available to pipeline templates"


def parse_template_args(args: Sequence[str]) -> dict[str, str]:
    """`NAME=VALUE` strings -> {NAME: VALUE}, split at the first `=` (pachtmpl.ParseArgs)."""
    parsed: dict[str, str] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(
                f'invalid template argument {arg!r}: must have the form "key=value"',
                hint="write --arg NAME=VALUE (one --arg per argument)",
            )
        parsed[name] = value
    return parsed


def _refuse_import(_base: str, rel: str) -> tuple[str, bytes]:
    raise RuntimeError(f"{_IMPORT_REFUSED} ({rel!r})")


def _one_line(message: str, label: str) -> SpecError:
    """jsonnet's multi-line report -> `FILE:LINE: jsonnet error: message`, with a hint.

    A static error reads `STATIC ERROR: FILE:L:C: message`; a runtime error's first line is the
    message and its stack frames read `\tFILE:L:C-C\t...` or `\tFILE:(L:C)-(L:C)\t...`: the
    line is the innermost frame in the template itself (not in jsonnet's std library).
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    kind, _, text = (lines[0] if lines else "evaluation failed").partition(": ")
    text = text or kind
    line = ""
    prefix = re.escape(label) + r":\(?([0-9]+):"
    static = re.match(prefix + r"[0-9]+(?:-[0-9]+)?:\s*", text)
    if static:
        line, text = static.group(1), text[static.end() :]
    else:
        frame = next((m for f in lines[1:] if (m := re.match(prefix, f))), None)
        line = frame.group(1) if frame else ""
    hint = "fix the template at that line" if line else "fix the template"
    if "has no parameter" in text or "not bound" in text:
        hint = "pass each of the template's parameters once with --arg NAME=VALUE"
    elif _IMPORT_REFUSED in text:
        hint = "inline the imported file into the template"
    where = f"{label}:{line}" if line else label
    return SpecError(f"{where}: jsonnet error: {text}", hint=hint)


def render_template(path: Path, args: Mapping[str, str]) -> str:
    """The JSON text a template renders to, each arg a top-level string argument."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFoundError(
            f"template {label} does not exist", hint="check the path given with --jsonnet"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {label}: {exc}", hint="pass a UTF-8 .jsonnet file") from None
    import _jsonnet  # the C extension loads only when a template is rendered, not per command

    try:
        rendered: str = _jsonnet.evaluate_snippet(
            label, text, tla_vars=dict(args), import_callback=_refuse_import
        )
    except RuntimeError as exc:
        raise _one_line(str(exc), label) from None
    return rendered


def load_template_documents(
    path: Path, args: Mapping[str, str]
) -> list[tuple[dict[str, Any], str]]:
    """A template's specs: [(document, location label), ...] as `load_spec_documents` gives."""
    return parse_spec_text(render_template(path, args), str(path), as_json=True)
