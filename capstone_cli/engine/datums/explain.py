"""Why an input gives the datums it gives: the core of `capstone datums`.

A wrong glob or join key does not fail in Pachyderm, it silently yields no datums, or a cross
product where a join was meant. `explain_datums` computes the datums exactly as `list_datums` does
and records, on the way, what usually explains a surprise: empty inputs, globs matching nothing,
join/group keys that are empty or constant, and the join files that found no partner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from capstone_cli.engine.datums.glob import Glob, compile_template
from capstone_cli.engine.datums.listing import Datum, DepthLimitedSource, KeyedInputs, evaluate
from capstone_cli.engine.datums.memsource import path_depth
from capstone_cli.engine.inputs import FileSource, Input, JoinInput, PfsInput

__all__ = ["DatumReport", "Diagnostics", "explain_datums"]

_EXAMPLES = 3


@dataclass
class DatumReport:
    """The datums, plus per join input the files dropped for lack of a partner, plus warnings."""

    datums: list[Datum]
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _examples(paths: list[str], limit: int = _EXAMPLES) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class Diagnostics:
    """Collects findings while the datums are computed (see `datums.evaluate`)."""

    def __init__(self, source: FileSource, outputs: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.outputs = outputs  # repos that pipelines write: the user cannot put files there
        self.unmatched: dict[str, list[str]] = {}
        self.warnings: list[str] = []

    def record_pfs(
        self, spec: PfsInput, glob: Glob, commit: str | None, walked: int, matched: int
    ) -> None:
        name, where = spec.input_name, f"{spec.repo_key}@{spec.branch}"
        if spec.repo_key in self.outputs and (commit is None or walked <= 1):
            self.warnings.append(
                f"input '{name}': {where} holds no files, so it gives no datums; it is the output"
                f" of pipeline '{spec.repo_key}', written by its jobs (see `capstone jobs -p "
                f"{spec.repo_key}` and `capstone logs -p {spec.repo_key}`)"
            )
            return
        if commit is None:
            self.warnings.append(
                f"input '{name}': {where} has no commit yet, so it gives no datums; put files "
                f"into it (capstone put {where} ...) or run the pipeline that writes it"
            )
            return
        if walked <= 1:
            self.warnings.append(
                f"input '{name}': {where} holds no files, so it gives no datums; put files into it"
            )
            return
        if not matched:
            top = self._top_level(spec)
            self.warnings.append(
                f"input '{name}': glob '{spec.glob}' matches nothing in {where} (its top level: "
                f"{_examples(top)}); use '/*' for one datum per top-level entry, '/*/*' for each "
                "entry one level down, or '/' for the whole repo as one datum"
            )
        for option, template in (("join_on", spec.join_on), ("group_by", spec.group_by)):
            refs = [p for p in compile_template(template).pieces if isinstance(p, int)]
            bad = [r for r in refs if r < 0 or r > glob.regex.groups]
            if bad:
                self.warnings.append(
                    f"input '{name}': {option} '{template}' refers to capture group "
                    f"{max(bad) if max(bad) >= 0 else 'with a malformed number'} but glob "
                    f"'{spec.glob}' has {glob.regex.groups} capture group(s), so that part of "
                    "the key is always empty; put parentheses around the part of the path to "
                    "match on, e.g. '/(*)' instead of '/*'"
                )

    def _top_level(self, spec: PfsInput) -> list[str]:
        """A few top-level paths of the input, to show what a glob could have matched."""
        if isinstance(self.source, DepthLimitedSource):
            walk = self.source.walk_to_depth(spec.repo_key, spec.branch, 1)
        else:
            walk = self.source.walk(spec.repo_key, spec.branch)
        top: list[str] = []
        for info in walk:
            if info.path != "/" and path_depth(info.path) == 1:
                top.append(info.path)
                if len(top) > _EXAMPLES:
                    break
        return top

    def record_keys(self, node: Input, names: list[str], keyed: list[KeyedInputs]) -> None:
        is_join = isinstance(node, JoinInput)
        kind, option = ("join", "join_on") if is_join else ("group", "group_by")
        for name, child in zip(names, keyed, strict=True):
            total = sum(len(items) for items in child.values())
            empty = child.get("", [])
            if empty and len(empty) < total:
                self.warnings.append(
                    f"{kind} input '{name}': {option} is empty for {len(empty)} of {total} files "
                    f"({_examples([i.file.path for i in empty])}), so they all share the key ''; "
                    "make the glob capture a non-empty part for every file"
                )
            if is_join and total > 1 and len(child) == 1:
                key = next(iter(child))
                self.warnings.append(
                    f"join input '{name}': all {total} files have the same join key {key!r}, so "
                    "the join degenerates into a cross product; capture the part of the path that "
                    "differs (e.g. '/(*)' rather than '/*', and no '$1' without parentheses) and "
                    "use it in join_on"
                )
        if is_join:
            self._record_unmatched(names, keyed)

    def _record_unmatched(self, names: list[str], keyed: list[KeyedInputs]) -> None:
        for index, (name, child) in enumerate(zip(names, keyed, strict=True)):
            others = [other for i, other in enumerate(keyed) if i != index]
            dropped = [
                item.file.path
                for key, items in child.items()
                if any(key not in other for other in others)
                for item in items
                if not item.outer_join
            ]
            if dropped:
                self.unmatched.setdefault(name, []).extend(dropped)
                self.warnings.append(
                    f"join input '{name}': {len(dropped)} file(s) have no partner with the same "
                    f"key and give no datum ({_examples(dropped, 10)}); set outer_join: true on "
                    f"'{name}' to process them alone, or add the missing partner files"
                )


def explain_datums(
    node: Input, source: FileSource, *, pipeline: str = "", outputs: frozenset[str] = frozenset()
) -> DatumReport:
    """The datums of `node` (as `list_datums`) with unmatched join files and warnings;
    `outputs` names the repos pipelines write, for which "put files into it" is wrong advice."""
    diagnostics = Diagnostics(source, outputs)
    datums = evaluate(node, source, pipeline=pipeline, diagnostics=diagnostics)
    return DatumReport(datums, diagnostics.unmatched, diagnostics.warnings)
