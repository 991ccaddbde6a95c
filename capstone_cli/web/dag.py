"""The pipeline graph as an SVG drawn on the server: layered left to right, laid out in Python.

Layers are longest paths from the source repos (a pipeline sits one column right of its deepest
input); inside a column nodes are ordered by the mean row of their inputs (one barycentre pass),
which is enough for DAGs of tens of nodes and keeps the picture stable between refreshes.
State is written in each node as text (and a glyph), never shown by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from capstone_cli.results import JobInfo, PipelineInfo
from capstone_cli.workflows.pipelines.status import dag_edges

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 200, 80, 70, 24, 16

# state -> (css class, glyph, words): the class colours, the glyph and words carry the meaning
_STATES = {
    "JOB_SUCCESS": ("ok", "✓", "success"),
    "JOB_FAILURE": ("bad", "✗", "failure"),
    "JOB_KILLED": ("bad", "✗", "killed"),
    "JOB_UNRUNNABLE": ("bad", "✗", "unrunnable"),
    "JOB_RUNNING": ("run", "▶", "running"),
    "JOB_STARTING": ("run", "…", "starting"),
    "JOB_CREATED": ("run", "…", "created"),
    "JOB_FINISHING": ("run", "▶", "finishing"),
    "JOB_EGRESSING": ("run", "▶", "egressing"),
}


def state_label(state: str) -> tuple[str, str, str]:
    """(css class, glyph, words) of a job state; unknown states keep their own name."""
    return _STATES.get(state, ("idle", "•", state.removeprefix("JOB_").lower() or "no jobs"))


@dataclass
class Node:
    name: str
    kind: str  # "repo" | "pipeline"
    href: str
    state: str = ""
    job: JobInfo | None = None
    col: int = 0
    row: float = 0.0


def build_nodes(pipelines: list[PipelineInfo], jobs: list[JobInfo]) -> list[Node]:
    """Nodes with their column and row; `jobs` newest first gives each pipeline its last job."""
    latest: dict[str, JobInfo] = {}
    for job in jobs:
        latest.setdefault(job.pipeline, job)
    names = {p.name for p in pipelines}
    nodes: dict[str, Node] = {}
    for repo, _ in dag_edges(pipelines):
        if repo not in names:
            nodes.setdefault(repo, Node(repo, "repo", f"/repos/{repo}"))
    for p in pipelines:
        last = latest.get(p.name)
        nodes[p.name] = Node(
            p.name, "pipeline", f"/pipelines/{p.name}", p.last_job_state or "", last
        )
    inputs = {p.name: [r for r in p.inputs if r in nodes] for p in pipelines}

    depths: dict[str, int] = {}

    def depth(name: str, visiting: frozenset[str] = frozenset()) -> int:
        if name not in depths:
            ins = [r for r in inputs.get(name, []) if r not in visiting]  # pachd refuses cycles
            depths[name] = 1 + max(depth(r, visiting | {name}) for r in ins) if ins else 0
        return depths[name]

    for node in nodes.values():
        node.col = depth(node.name)
    columns: dict[int, list[Node]] = {}
    for node in sorted(nodes.values(), key=lambda n: n.name):
        columns.setdefault(node.col, []).append(node)
    for col in sorted(columns):
        members = columns[col]
        if col:
            for n in members:
                rows = [nodes[r].row for r in inputs.get(n.name, [])]
                n.row = sum(rows) / len(rows) if rows else 0.0
            members.sort(key=lambda n: (n.row, n.name))
        for i, n in enumerate(members):
            n.row = float(i)
    return list(nodes.values())


def render_svg(pipelines: list[PipelineInfo], jobs: list[JobInfo], standalone: bool = False) -> str:
    """The DAG as SVG markup with a link per node; `standalone` embeds the styles (export).

    No `role="img"`: that would hide the node links from assistive technology."""
    nodes = build_nodes(pipelines, jobs)
    if not nodes:
        return '<p class="empty">No pipelines yet: create one with `capstone pipeline create`.</p>'
    pos = {n.name: (PAD + n.col * (NODE_W + GAP_X), PAD + n.row * (NODE_H + GAP_Y)) for n in nodes}
    width = max(x for x, _ in pos.values()) + NODE_W + PAD
    height = max(y for _, y in pos.values()) + NODE_H + PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{width}" '
        f'height="{height:g}" viewBox="0 0 {width} {height:g}" aria-labelledby="dag-title">',
        '<title id="dag-title">Pipeline graph: repos and pipelines with their last job state'
        "</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    if standalone:
        out.append(f"<style>{EXPORT_CSS}</style>")
    for src, dst in dag_edges(pipelines):
        if src in pos and dst in pos:
            x1, y1 = pos[src][0] + NODE_W, pos[src][1] + NODE_H / 2
            x2, y2 = pos[dst][0], pos[dst][1] + NODE_H / 2
            mid = (x1 + x2) / 2
            out.append(
                f'<path class="edge" d="M{x1},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2},{y2:g}" '
                'fill="none" stroke="#555" marker-end="url(#arrow)"/>'
            )
    for n in nodes:
        out.append(_node_svg(n, *pos[n.name]))
    out.append("</svg>")
    return "\n".join(out)


def _node_svg(n: Node, x: float, y: float) -> str:
    if n.kind == "repo":
        css, lines = "repo", [n.name, "input repo"]
        label = f"input repo {n.name}"
    else:
        css, glyph, words = state_label(n.state)
        lines = [n.name, f"{glyph} {words}"]
        if n.job is not None:
            j = n.job
            done = j.data_processed + j.data_skipped + j.data_failed + j.data_recovered
            lines.append(
                f"{done}/{j.data_total} datums"
                + (f", {j.data_failed} failed" if j.data_failed else "")
            )
        label = f"pipeline {n.name}: " + ", ".join(lines[1:])
    radius = 16 if n.kind == "repo" else 4
    texts = "".join(
        f'<text x="{x + 10:g}" y="{y + 22 + 20 * i:g}" class="{"name" if i == 0 else "meta"}">'
        f"{escape(t)}</text>"
        for i, t in enumerate(lines)
    )
    return (
        f'<a href="{escape(n.href)}" class="node {css}" aria-label="{escape(label)}">'
        f'<rect x="{x:g}" y="{y:g}" width="{NODE_W}" height="{NODE_H}" rx="{radius}"/>'
        f"{texts}</a>"
    )


EXPORT_CSS = (
    "text{font:13px sans-serif;fill:#111}.name{font-weight:bold}"
    "rect{stroke:#333;stroke-width:1.5;fill:#eee}.ok rect{fill:#d4f4d2}.bad rect{fill:#fbd0cf}"
    ".run rect{fill:#d3e4fb}.idle rect{fill:#f3ecd0}.repo rect{fill:#fff}"
)
