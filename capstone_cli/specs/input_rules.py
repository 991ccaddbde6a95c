"""Rules for the input tree of a pipeline spec, and cron specs (api_server.go `validateInput`).

None of these are in the JSON schema: pfs inputs need a repo and a glob, one input type per node,
names unique except across union branches, s3 restrictions, no `commit`, parseable cron specs.
The document is canonical (camelCase) and has passed the schema, so types are right.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from capstone_cli.engine.datums.glob import compile_glob
from capstone_cli.errors import SpecError
from capstone_cli.specs.spec_schema import FieldPath as Path
from capstone_cli.specs.spec_schema import fail

_GO_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}


def go_duration_seconds(text: str) -> Decimal | None:
    """`1h30m` -> 5400 (Go's time.ParseDuration units); None when it is not one."""
    text = text.strip()
    if not text or _GO_DURATION_PART.sub("", text):
        return None
    try:
        return sum(
            (Decimal(n) * _GO_UNITS[u] for n, u in _GO_DURATION_PART.findall(text)), Decimal(0)
        )
    except InvalidOperation:
        return None


# --- cron -----------------------------------------------------------------------------------

_CRON_DESCRIPTORS = {
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_CRON_FIELDS: list[tuple[str, int, int, list[str]]] = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
]


def _cron_value(text: str, low: int, names: list[str]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    return names.index(lowered) + low if lowered in names else None


def _cron_field_problem(text: str, field: tuple[str, int, int, list[str]]) -> str | None:
    label, low, high, names = field
    for part in text.split(","):
        span, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return f"bad step {step!r} in the {label} field"
        if span in ("*", "?"):
            continue
        first, _, last = span.partition("-")
        start = _cron_value(first, low, names)
        end = _cron_value(last, low, names) if last else start
        if start is None or end is None:
            return f"cannot read {span!r} in the {label} field"
        if not (low <= start <= end <= high):
            return f"{span!r} is out of range {low}-{high} in the {label} field"
    return None


def cron_problem(spec: str) -> str | None:
    """Why robfig/cron's standard parser would refuse `spec` (None when it parses).

    Accepted: five fields (minute hour day-of-month month day-of-week, with `*`, `?`, lists,
    ranges, steps and month/day names), the `@hourly`-style descriptors and `@every <dur>`,
    optionally after a `TZ=`/`CRON_TZ=` prefix.
    """
    text = spec.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        text = text.partition(" ")[2].strip()
    if not text:
        return "empty cron spec"
    if text.startswith("@every"):
        seconds = go_duration_seconds(text[len("@every") :])
        return None if seconds is not None else f"cannot read the duration in {spec!r}"
    if text.startswith("@"):
        return None if text in _CRON_DESCRIPTORS else f"unknown descriptor {text!r}"
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for value, field in zip(fields, _CRON_FIELDS, strict=True):
        problem = _cron_field_problem(value, field)
        if problem:
            return problem
    return None


# --- semantic rules (api_server.go validatePipelineRequest / validatePipeline / validateInput)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_INPUT_KINDS = ("pfs", "cross", "union", "join", "group", "cron")


def _check_name(where: str, path: Path, value: Any, what: str) -> None:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise fail(
            where,
            path,
            f"invalid {what} name {value!r}: only letters, digits, '_' and '-' are allowed",
            f"rename it, e.g. {re.sub(r'[^a-zA-Z0-9_-]+', '-', str(value or 'x'))!r}",
        )


def _set_kinds(node: dict[str, Any]) -> list[str]:
    """Input types set on one node, as pachd sees them after protojson.

    `pfs` and `cron` are messages: present is set, even `{}` (a non-nil pointer). The combined
    kinds are lists: an empty list counts as unset, like a nil Go slice.
    """
    return [
        k
        for k in _INPUT_KINDS
        if (node.get(k) is not None if k in ("pfs", "cron") else node.get(k) not in (None, []))
    ]


def _contains_s3(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    pfs = node.get("pfs")
    if isinstance(pfs, dict) and pfs.get("s3"):
        return True
    return any(_contains_s3(child) for kind in _INPUT_KINDS[1:5] for child in node.get(kind) or [])


def _check_pfs(where: str, path: Path, pfs: dict[str, Any]) -> None:
    if not pfs.get("repo"):
        raise fail(where, path, "a pfs input needs a repo", "add `repo: <input repo name>`")
    _check_name(where, (*path, "repo"), pfs["repo"], "repo")
    if pfs.get("branch"):
        _check_name(where, (*path, "branch"), pfs["branch"], "branch")
    if pfs.get("commit"):
        raise fail(
            where,
            (*path, "commit"),
            "an input cannot come from a commit",
            "use a branch whose head points at that commit (`branch: <name>`)",
        )
    if pfs.get("s3"):
        if pfs.get("glob") not in (None, "", "/"):
            raise fail(where, (*path, "glob"), 's3 inputs must use glob "/"', 'set `glob: "/"`')
        for flag in ("lazy", "emptyFiles"):
            if pfs.get(flag):
                raise fail(where, (*path, flag), "cannot be combined with s3", "drop one of them")
    elif not pfs.get("glob"):
        raise fail(
            where, path, "a pfs input needs a glob", 'add `glob: "/*"` (one datum per top entry)'
        )
    else:  # a glob the engine cannot compile would wedge the pipeline's first job
        try:
            compile_glob(str(pfs["glob"]))
        except SpecError as exc:
            raise fail(where, (*path, "glob"), exc.message, exc.hint or "fix the glob") from exc
    trigger = pfs.get("trigger") or {}
    for key in ("rateLimitSpec", "cronSpec"):
        if trigger.get(key):
            problem = cron_problem(str(trigger[key]))
            if problem:
                raise fail(where, (*path, "trigger", key), problem, 'use e.g. "@every 60s"')


def _check_cron(where: str, path: Path, cron: dict[str, Any]) -> None:
    if not cron.get("name"):
        raise fail(where, path, "a cron input needs a name", "add `name: tick`")
    problem = cron_problem(str(cron.get("spec") or ""))
    if problem:
        raise fail(
            where,
            (*path, "spec"),
            f"cannot parse the cron spec: {problem}",
            'use five cron fields ("*/10 * * * *") or "@every 60s"',
        )
    if cron.get("repo"):
        _check_name(where, (*path, "repo"), cron["repo"], "repo")
    start = cron.get("start")
    if start and not _RFC3339.match(str(start)):
        raise fail(
            where,
            (*path, "start"),
            f"{start!r} is not an RFC 3339 time",
            'e.g. "2024-01-01T00:00:00Z"',
        )


def _check_input_node(where: str, path: Path, node: Any) -> None:
    if not isinstance(node, dict):
        return
    kinds = _set_kinds(node)
    if not kinds:
        raise fail(where, path, "no input set", f"set exactly one of: {', '.join(_INPUT_KINDS)}")
    if len(kinds) > 1:
        raise fail(
            where,
            path,
            f"multiple input types set ({', '.join(kinds)})",
            "split them: wrap several inputs in `cross`, `union`, `join` or `group`",
        )
    kind = kinds[0]
    if kind == "pfs":
        _check_pfs(where, (*path, "pfs"), node["pfs"])
    elif kind == "cron":
        _check_cron(where, (*path, "cron"), node["cron"])
    else:
        if kind in ("join", "group", "union") and _contains_s3(node):
            raise fail(
                where, (*path, kind), f"s3 inputs are not supported inside {kind}", "use a cross"
            )
        for i, child in enumerate(node[kind]):
            _check_input_node(where, (*path, kind, i), child)


def _leaf_name(node: dict[str, Any]) -> str:
    pfs = node.get("pfs")
    if isinstance(pfs, dict):
        return str(pfs.get("name") or pfs.get("repo") or "")
    return str((node.get("cron") or {}).get("name") or "")


def _check_names(where: str, path: Path, node: Any, names: set[str]) -> None:
    """Input names are unique in the tree, except that union branches may reuse them."""
    if not isinstance(node, dict):
        return
    kind = (_set_kinds(node) or [""])[0]
    if kind in ("pfs", "cron"):
        name = _leaf_name(node)
        if name in ("out", ".env"):
            raise fail(
                where,
                (*path, kind, "name"),
                f"an input cannot be named {name!r} (Pachyderm uses /pfs/{name})",
                "set `name:` to something else",
            )
        if name in names:
            raise fail(
                where,
                (*path, kind),
                f"input name {name!r} is used more than once",
                "give one of them a distinct `name:`",
            )
        names.add(name)
    elif kind == "union":
        seen: set[str] = set()
        for i, child in enumerate(node["union"]):
            branch = set(names)
            _check_names(where, (*path, "union", i), child, branch)
            seen |= branch
        names |= seen
    elif kind:
        for i, child in enumerate(node[kind]):
            _check_names(where, (*path, kind, i), child, names)


def check_name(where: str, path: Path, value: Any, what: str) -> None:
    """Repo, branch and project names: `^[a-zA-Z0-9_-]+$`."""
    _check_name(where, path, value, what)


def check_input(where: str, node: Any) -> None:
    """Every rule of `validateInput` on `input` (a canonical, schema-valid input tree)."""
    _check_input_node(where, ("input",), node)
    _check_names(where, ("input",), node, set())
