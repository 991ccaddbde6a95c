"""The order of the files inside a group datum, as Pachyderm 2.12 lists and hashes them.

Read from `src/server/worker/datum/{worker,create}.go` (2.12.x): a group's key task walks each
child's datum file set, whose meta files live at `/meta/<datum ID>/meta`, so in datum-ID order,
and appends every input file to its key's file; the merge task then concatenates the children
(sorted by input name) per key. So a group datum lists a child's files in the order of their
own datum IDs, not in path order, and its datum ID (a hash over the inputs in order) depends
on that order. Pachyderm's iterator tests compare group datums order-insensitively
(`computeStableKey` sorts the paths), so this pins the order itself.
"""

from __future__ import annotations

import hashlib
import struct

import pytest

from capstone_cli.engine.datums.listing import Datum, list_datums, sort_inputs
from capstone_cli.engine.datums.memsource import MemorySource
from capstone_cli.engine.inputs import GroupInput, Input, JoinInput, PfsInput

DATA = MemorySource({"data": {f"/foo{i}": b"input" for i in range(50)}})


def blake(*fields: str) -> str:
    """`common.DatumID` spelled out: each field then its length as a big-endian int64."""
    raw = b"".join(f.encode() + struct.pack(">q", len(f.encode())) for f in fields)
    return hashlib.blake2b(raw, digest_size=32).hexdigest()


def single_id(name: str, path: str) -> str:
    return blake(name, "data", "master", path)


def pfs(glob: str, name: str = "", join_on: str = "", group_by: str = "") -> PfsInput:
    return PfsInput(repo="data", glob=glob, name=name or "data", join_on=join_on, group_by=group_by)


def files(datum: Datum) -> list[tuple[str, str]]:
    return [(item.name, item.file.path) for item in datum.inputs]


def by_id(name: str, paths: list[str]) -> list[tuple[str, str]]:
    return [(name, p) for p in sorted(paths, key=lambda p: single_id(name, p))]


TENS = {str(t): [f"/foo{t}{u}" for u in range(10)] for t in range(1, 5)}
UNITS = {str(u): [f"/foo{t}{u}" for t in range(1, 5)] for u in range(10)}


def single() -> dict[str, list[tuple[str, str]]]:
    return {key: by_id("data", paths) for key, paths in TENS.items()}


def two_children() -> dict[str, list[tuple[str, str]]]:
    """Child `a` (by tens) before child `b` (by units), whatever order the spec lists them in."""
    keys = set(TENS) | set(UNITS)
    return {k: by_id("a", TENS.get(k, [])) + by_id("b", UNITS.get(k, [])) for k in keys}


CASES: list[tuple[str, Input, dict[str, list[tuple[str, str]]]]] = [
    ("one child", GroupInput((pfs("/foo(?)(?)", group_by="$1"),)), single()),
    (
        "two children, listed b first",
        GroupInput(
            (pfs("/foo(?)(?)", name="b", group_by="$2"), pfs("/foo(?)(?)", name="a", group_by="$1"))
        ),
        two_children(),
    ),
]


@pytest.mark.parametrize(("label", "node", "groups"), CASES, ids=[c[0] for c in CASES])
def test_group_files_in_child_then_datum_id_order(
    label: str, node: Input, groups: dict[str, list[tuple[str, str]]]
) -> None:
    datums = list_datums(sort_inputs(node), DATA)  # pachd sorts a spec's inputs on create
    assert sorted(map(files, datums)) == sorted(groups.values())
    for datum in datums:
        fields = [v for item in datum.inputs for v in (item.name, "data", "master", item.file.path)]
        assert datum.id == blake(*fields)  # the ID hashes the files in this order
    path_ordered = [sorted(members, key=lambda f: (f[0], f[1])) for members in groups.values()]
    assert any(
        order != members for order, members in zip(path_ordered, groups.values(), strict=True)
    )


def test_group_of_a_join_appends_whole_join_datums_in_their_id_order() -> None:
    join = JoinInput(
        (
            pfs("/foo(?)(?)", name="left", join_on="$1$2", group_by="$1"),
            pfs("/foo(?)(?)", name="right", join_on="$2$1", group_by="$2"),
        )
    )
    joined = list_datums(join, DATA)  # sorted by datum ID
    expected: dict[str, list[tuple[str, str]]] = {}
    for datum in joined:
        expected.setdefault(datum.inputs[0].group_by, []).extend(files(datum))
    grouped = list_datums(GroupInput((join,)), DATA)
    assert sorted(map(files, grouped)) == sorted(expected.values())
