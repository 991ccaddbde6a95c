"""Branch triggers, as pachd's `triggerCommit`/`isTriggered` (src/server/pfs/server/
master_trigger.go): when a branch gets a new head, every branch whose trigger watches it (and,
in a chain, the branches watching those) moves to that head once its conditions hold.

Conditions: `size` (the new head's size minus the old head's, at least this many bytes),
`commits` (this many commits since the old head); any one fires, or all of them with `all`
(and a trigger with no condition fires only with `all`, as in pachd). `rate_limit_spec` and
`cron_spec` are refused when a trigger is made (`check_trigger`).
"""

from __future__ import annotations

import re

from capstone_cli.engine.names import check_branch_name
from capstone_cli.engine.store.records import Branch, Commit, Trigger
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import UsageError

# docker/go-units FromHumanSize: decimal multiples; "i" and "b" suffixes allowed and ignored
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def parse_size(text: str) -> int:
    """Bytes of a human size as pachd reads a trigger's size ("1MB" = 1,000,000)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise UsageError(
            f"invalid trigger size {text!r}", hint="write a size such as 500KB, 1MB or 2G"
        )
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def check_trigger(store: Store, repo: str, branch: str, trigger: Trigger) -> None:
    """Refuse what pachd's validateTrigger refuses: a bad branch or size, negative commits,
    a loop of triggers."""
    check_branch_name(trigger.branch)
    if trigger.size:
        parse_size(trigger.size)
    if trigger.commits < 0:
        raise UsageError(
            "can't trigger on a negative number of commits", hint="give --trigger-commits >= 0"
        )
    by_name = {b.name: b for b in store.list_branches(repo)}
    watched: str | None = trigger.branch
    while watched is not None:
        if watched == branch:
            raise UsageError(
                f"triggers cannot form a loop ({branch} -> {trigger.branch} -> ... -> {branch})",
                hint="trigger on a branch that does not, directly or not, trigger on this one",
            )
        nxt = by_name.get(watched)
        watched = nxt.trigger.branch if nxt is not None and nxt.trigger else None


def is_triggered(store: Store, t: Trigger, old: Commit | None, new: Commit) -> bool:
    result = t.all

    def merge(cond: bool) -> None:
        nonlocal result
        result = (result and cond) if t.all else (result or cond)

    if t.size:
        merge(new.size - (old.size if old else 0) >= parse_size(t.size))
    if t.commits:
        commit, count = new, 0
        while count < t.commits:
            if commit.parent is None:
                if commit.origin != "AUTO":
                    count += 1
                break
            if old is not None and commit.rowid == old.rowid:
                break
            commit = store.commit_by_rowid(commit.parent)
            count += 1
        merge(count == t.commits)
    return result


def fire(store: Store, repo: str, moved: dict[str, Commit]) -> list[str]:
    """Move the branches of `repo` whose triggers fire after the heads in `moved` changed
    (inside the caller's transaction); returns the branches moved, trigger chains followed."""
    branches = {b.name: b for b in store.list_branches(repo)}
    new_heads: dict[str, Commit | None] = dict(moved)
    fired: list[str] = []

    def visit(b: Branch) -> Commit | None:
        if b.name in new_heads:
            return new_heads[b.name]
        new_heads[b.name] = None
        if b.trigger is None or b.trigger.branch not in branches:
            return None
        new = visit(branches[b.trigger.branch])
        if new is None or b.head == new.rowid:
            return None
        old = store.commit_by_rowid(b.head) if b.head is not None else None
        if not is_triggered(store, b.trigger, old, new):
            return None
        store.set_branch(repo, b.name, new.rowid, b.trigger)
        new_heads[b.name] = new
        fired.append(b.name)
        return new

    for b in branches.values():
        visit(b)
    return fired
