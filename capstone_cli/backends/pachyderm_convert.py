"""pachd's messages as capstone's records, and pipeline specs in one comparable form.

betterproto decodes unset timestamps as 1970 and enum fields as plain ints; the helpers here
turn those into what `capstone_cli.results` promises (RFC 3339 text or "", enum names).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pachyderm_sdk.api import pfs, pps

from capstone_cli.results import (
    CommitInfo,
    DatumInfo,
    FileEntry,
    JobInfo,
    LogLine,
    PipelineInfo,
    RepoInfo,
)

_MAP_FIELDS = frozenset({"env", "labels", "annotations", "nodeSelector", "node_selector"})


def ts(value: datetime | None) -> str:
    """RFC 3339 text of a timestamp; "" for an unset one (betterproto decodes unset as 1970)."""
    if value is None or value.timestamp() <= 0:
        return ""
    return value.isoformat().replace("+00:00", "Z")


def enum_name(enum_cls: Any, value: Any) -> str:
    """Enum name of a field value (betterproto decodes enum fields as plain ints)."""
    try:
        return str(enum_cls(int(value)).name)
    except (TypeError, ValueError):
        return str(value)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def canonical_spec(value: Any, in_map: bool = False) -> Any:
    """A spec in one comparable form: camelCase keys, proto3 defaults (empty, 0, false) dropped.

    pachd accepts snake_case and camelCase and omits default values when it stores a spec, so a
    spec is "unchanged" when these forms are equal. Keys of map fields (env vars, labels) are
    user data and are kept as written.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if in_map else _camel(key)
            item = canonical_spec(item, in_map=not in_map and name in _MAP_FIELDS)
            if in_map or item not in (None, "", [], {}, False, 0):
                out[name] = item
        return out
    if isinstance(value, list):
        return [canonical_spec(item) for item in value]
    return value


def spec_lines(spec: dict[str, Any] | None) -> list[str]:
    """A spec as sorted, indented JSON lines (what `apply --dry-run` diffs)."""
    if spec is None:
        return []
    return json.dumps(spec, indent=2, sort_keys=True).splitlines()


def repo_info(info: pfs.RepoInfo) -> RepoInfo:
    size = int(info.details.size_bytes) if info.details else 0
    return RepoInfo(
        name=info.repo.name,
        type=info.repo.type or "user",
        created=ts(info.created),
        size=size or int(info.size_bytes_upper_bound),
        description=info.description,
        branches=[branch.name for branch in info.branches],
        project=(info.repo.project.name if info.repo.project else "") or "default",
    )


def commit_info(info: pfs.CommitInfo, repo: str, branch: str) -> CommitInfo:
    commit = info.commit
    return CommitInfo(
        repo=commit.repo.name or repo,
        branch=(commit.branch.name if commit.branch else "") or branch,
        id=commit.id,
        parent=(info.parent_commit.id if info.parent_commit else "") or None,
        origin=enum_name(pfs.OriginKind, info.origin.kind) if info.origin else "USER",
        started=ts(info.started),
        finished=ts(info.finished) or None,
        size=int(info.size_bytes_upper_bound),
        description=info.description,
        error=info.error,
    )


def file_entry(info: pfs.FileInfo) -> FileEntry:
    path = info.file.path
    if len(path) > 1:
        path = path.rstrip("/")  # pachd marks directories with a trailing slash
    kind = "dir" if info.file_type == pfs.FileType.DIR else "file"
    return FileEntry(path=path, type=kind, size=int(info.size_bytes))


def _input_repos(node: Any) -> list[str]:
    """Repos of every PFS input in a (camelCase) input spec, depth first."""
    if isinstance(node, list):
        return [repo for item in node for repo in _input_repos(item)]
    if not isinstance(node, dict):
        return []
    if "pfs" in node and isinstance(node["pfs"], dict):
        return [str(node["pfs"].get("repo", ""))]
    return [
        repo for key in ("cross", "union", "join", "group") for repo in _input_repos(node.get(key))
    ]


def pipeline_info(info: pps.PipelineInfo) -> PipelineInfo:
    spec: dict[str, Any] = json.loads(info.effective_spec_json or info.user_spec_json or "{}")
    details = info.details
    return PipelineInfo(
        name=info.pipeline.name,
        version=int(info.version),
        state=enum_name(pps.PipelineState, info.state),
        last_job_state=enum_name(pps.JobState, info.last_job_state)
        if int(info.last_job_state)
        else "",
        inputs=_input_repos(canonical_spec(spec).get("input")),
        created=ts(details.created_at) if details else "",
        description=(details.description if details else "") or spec.get("description", ""),
        parallelism=int(info.parallelism) or 1,
        spec=spec,
    )


def job_info(info: pps.JobInfo) -> JobInfo:
    stats = info.stats
    return JobInfo(
        pipeline=info.job.pipeline.name,
        id=info.job.id,
        state=enum_name(pps.JobState, info.state),
        data_total=int(info.data_total),
        data_processed=int(info.data_processed),
        data_skipped=int(info.data_skipped),
        data_failed=int(info.data_failed),
        data_recovered=int(info.data_recovered),
        reason=info.reason,
        created=ts(info.created),
        started=ts(info.started) or None,
        finished=ts(info.finished) or None,
        download_bytes=int(stats.download_bytes) if stats else 0,
        upload_bytes=int(stats.upload_bytes) if stats else 0,
        process_seconds=stats.process_time.total_seconds() if stats else 0.0,
    )


def datum_info(info: pps.DatumInfo) -> DatumInfo:
    return DatumInfo(
        id=info.datum.id,
        state=enum_name(pps.DatumState, info.state),
        files=[f"{f.file.commit.repo.name}:{f.file.path}" for f in info.data],
        seconds=info.stats.process_time.total_seconds() if info.stats else 0.0,
    )


def log_line(message: pps.LogMessage, pipeline: str) -> LogLine:
    return LogLine(
        pipeline=message.pipeline_name or pipeline,
        job=message.job_id,
        datum=message.datum_id,
        message=message.message.rstrip("\n"),
        ts=ts(message.ts),
        master=bool(message.master),
    )
