"""Datum composition, IDs and hashes: Pachyderm's own iterator tests and the capstone stages.

`PACHYDERM_CASES` ports every case of `pachyderm/pachyderm:src/server/worker/datum/
iterator_test.go` (TestIterators, TestJoinTrailingSlash, and what applies of
TestStreamingIterator), compared as multisets of "stable keys" exactly like its `validateDI`.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter

import pytest

from capstone_cli.engine.datums.explain import explain_datums
from capstone_cli.engine.datums.listing import Datum, DatumInput, datum_id, list_datums, sort_inputs
from capstone_cli.engine.datums.memsource import MemorySource
from capstone_cli.engine.inputs import (
    CronInput,
    CrossInput,
    FileInfo,
    GroupInput,
    Input,
    JoinInput,
    PfsInput,
    UnionInput,
)
from capstone_cli.errors import NotFoundError

DATA = MemorySource({"data": {f"/foo{i}": b"input" for i in range(50)}})


def pfs(glob: str, join_on: str = "", group_by: str = "", outer: bool = False) -> PfsInput:
    return PfsInput(repo="data", glob=glob, join_on=join_on, group_by=group_by, outer_join=outer)


def stable_key(key: str) -> str:
    """iterator_test.go `computeStableKey`: sort the `/` parts, `path.Join` them."""
    return "/".join(part for part in sorted(key.split("/")) if part)


def keys_of(datums: list[Datum]) -> Counter[str]:
    return Counter(stable_key("".join(i.file.path for i in d.inputs)) for d in datums)


IN0 = pfs("!(**)")
IN1 = pfs("/foo?1")
IN2 = pfs("/foo*2")
IN3 = UnionInput((IN1, IN2))
IN4 = CrossInput((IN1, IN2))
IN6 = CrossInput((IN3, IN0, IN2, IN4))
IN27 = PfsInput(repo="data", glob="/", s3=True)
CROSS_20 = [f"/foo{a}1/foo{b}" for a in range(1, 5) for b in ("12", "2", "22", "32", "42")]
GROUPS_OF_TEN = ["/".join(f"/foo{t}{u}" for u in range(10)) for t in range(1, 5)]
TENS_BY_UNIT = ["/".join(f"/foo{t}{u}" for t in range(1, 5)) for u in range(10)]

PACHYDERM_CASES: list[tuple[str, Input, list[str]]] = [
    ("ZeroDatums", IN0, []),
    ("Basic1", IN1, ["/foo11", "/foo21", "/foo31", "/foo41"]),
    ("Basic2", IN2, ["/foo12", "/foo2", "/foo22", "/foo32", "/foo42"]),
    ("Union", IN3, [f"/foo{n}" for n in (11, 12, 2, 21, 22, 31, 32, 41, 42)]),
    ("Cross", IN4, CROSS_20),
    ("EmptyCross", IN6, []),
    ("NestedEmptyCross", CrossInput((IN6, IN1)), []),
    (
        "Join",
        JoinInput((pfs("/foo(?)(?)", join_on="$1$2"), pfs("/foo(?)(?)", join_on="$2$1"))),
        [f"/foo{a}{b}/foo{b}{a}" for a in range(1, 5) for b in range(1, 5)],
    ),
    (
        "OuterJoin",
        JoinInput((pfs("/foo1(?)", "$1", outer=True), pfs("/foo(?)1", "$1", outer=True))),
        ["/foo10", *(f"/foo1{a}/foo{a}1" for a in range(1, 5)), *(f"/foo1{d}" for d in "56789")],
    ),
    ("GroupSingle", GroupInput((pfs("/foo(?)(?)", group_by="$1"),)), GROUPS_OF_TEN),
    (
        "GroupDoubles",
        GroupInput((pfs("/foo(?)(?)", group_by="$1"), pfs("/foo(?)(?)", group_by="$2"))),
        [
            "/foo10/foo20/foo30/foo40",
            *(f"{GROUPS_OF_TEN[t - 1]}/{TENS_BY_UNIT[t]}" for t in range(1, 5)),
            *TENS_BY_UNIT[5:],
        ],
    ),
    (
        "GroupJoin",
        GroupInput(
            (
                JoinInput(
                    (
                        pfs("/foo(?)(?)", join_on="$1$2", group_by="$1"),
                        pfs("/foo(?)(?)", join_on="$2$1", group_by="$2"),
                    )
                ),
            )
        ),
        ["/".join(f"/foo{t}{u}/foo{u}{t}" for u in range(1, 5)) for t in range(1, 5)],
    ),
    (
        "UnionGroup",
        UnionInput((pfs("/foo(?)(?)"), GroupInput((pfs("/foo(?)(?)", group_by="$2"),)))),
        [*TENS_BY_UNIT, *(f"/foo{n}" for n in range(10, 50))],
    ),
    ("PlainS3", IN27, ["/"]),
    ("S3MixedCross", CrossInput((IN1, IN2, IN27)), [f"{key}/" for key in CROSS_20]),
    ("S3OnlyCrossUnionJoin", CrossInput((IN27, IN27, IN27)), ["///"]),
]


@pytest.mark.parametrize(
    ("node", "expected"), [c[1:] for c in PACHYDERM_CASES], ids=[c[0] for c in PACHYDERM_CASES]
)
def test_pachyderm_iterator_cases(node: Input, expected: list[str]) -> None:
    datums = list_datums(node, DATA)
    assert keys_of(datums) == Counter(stable_key(key) for key in expected)
    assert [d.id for d in datums] == sorted({d.id for d in datums})  # sorted, no duplicates


def test_s3_inputs_are_flagged() -> None:
    (datum,) = list_datums(IN27, DATA)
    assert datum.inputs[0].s3 and datum.inputs[0].file.path == "/"


@pytest.mark.parametrize("glob", ["/(*)", "/(*)/"])
def test_join_trailing_slash(glob: str) -> None:
    files = {f"foo-{j}": b"bar" for j in range(10)}
    source = MemorySource({"repo0": files, "repo1": files})
    node = JoinInput(
        (PfsInput(repo="repo0", glob=glob, join_on="$1"), PfsInput("repo1", glob, join_on="$1"))
    )
    assert keys_of(list_datums(node, source)) == Counter(
        stable_key(f"/foo-{j}/foo-{j}") for j in range(10)
    )


def test_streaming_iterator_counterparts() -> None:
    source = MemorySource({"many": {f"file-{i}": b"" for i in range(2 * 1000)}})
    assert list_datums(PfsInput(repo="many", glob="!(**)"), source) == []
    datums = list_datums(PfsInput(repo="many", glob="/*"), source)
    assert len({d.inputs[0].file.path for d in datums}) == 2000
    with pytest.raises(NotFoundError):
        list_datums(PfsInput(repo="nonexistent-repo", glob="/*"), source)


# --- capstone's own stages ------------------------------------------------------------------

CHUNKS = [f"{n:016x}" for n in range(6)]
STAGES = MemorySource(
    {
        "rawdata": {f"/test.tsv/{c}": f"caption {c}\turl\n".encode() for c in CHUNKS},
        "images": {f"/{c}/{line}.png": b"png" + c.encode() for c in CHUNKS for line in (0, 1)},
        "features": {f"/{c}/{line}.npy": b"npy" for c in CHUNKS[:4] for line in (0, 1)},
        "consolidate": {f"/{c}/shard.npz": b"npz" for c in CHUNKS[:4]},
        "model": {"/saved/saved_model.h5": b"h5", "/saved/vocab.json": b"{}", "/metrics.json": b""},
        "inpredict": {"/cat.png": b"cat", "/dog.png": b"dog"},
    },
    uncommitted=["empty"],
)
CONSOLIDATE = JoinInput(
    (
        PfsInput(repo="features", glob="/(*)", join_on="$1"),
        PfsInput(repo="rawdata", glob="/*/(*)", join_on="$1"),
    )
)

STAGE_CASES: list[tuple[str, Input, list[tuple[str, ...]]]] = [
    ("images", PfsInput(repo="rawdata", glob="/*/*"), [(f"/test.tsv/{c}",) for c in CHUNKS]),
    ("features", PfsInput(repo="images", glob="/*"), [(f"/{c}/",) for c in CHUNKS]),
    ("consolidate", CONSOLIDATE, [(f"/{c}/", f"/test.tsv/{c}") for c in CHUNKS[:4]]),
    ("model", PfsInput(repo="consolidate", glob="/"), [("/",)]),
    ("model on empty", PfsInput(repo="empty", glob="/"), []),
    (
        "predict",
        CrossInput((PfsInput(repo="inpredict", glob="/*"), PfsInput(repo="model", glob="/saved"))),
        [("/cat.png", "/saved/"), ("/dog.png", "/saved/")],
    ),
]


@pytest.mark.parametrize(
    ("node", "expected"), [c[1:] for c in STAGE_CASES], ids=[c[0] for c in STAGE_CASES]
)
def test_capstone_stage_datums(node: Input, expected: list[tuple[str, ...]]) -> None:
    datums = list_datums(node, STAGES)
    assert sorted(tuple(i.file.path for i in d.inputs) for d in datums) == sorted(expected)


def test_consolidate_reports_chunks_without_features() -> None:
    report = explain_datums(CONSOLIDATE, STAGES)
    assert len(report.datums) == 4
    assert report.unmatched == {"rawdata": [f"/test.tsv/{c}" for c in CHUNKS[4:]]}
    assert any("2 file(s) have no partner" in w and "outer_join" in w for w in report.warnings)


def test_directory_datums_carry_directory_hash_and_size() -> None:
    (datum, *_) = list_datums(PfsInput(repo="images", glob="/*"), STAGES)
    info = datum.inputs[0].file
    assert info.is_dir and info.size == 2 * len(b"png" + CHUNKS[0].encode())


def test_cron_reads_pipeline_named_repo_with_glob_star() -> None:
    source = MemorySource({"tick_pipe_every": {"/2024-01-01T00:00:00Z": b""}})
    (datum,) = list_datums(CronInput(name="every", spec="@every 10s"), source, pipeline="tick_pipe")
    item = datum.inputs[0]
    assert (item.name, item.repo, item.branch) == ("every", "tick_pipe_every", "master")


# --- IDs and hashes ----------------------------------------------------------------------------


def _blake(*fields: str) -> str:
    raw = b"".join(f.encode() + struct.pack(">q", len(f.encode())) for f in fields)
    return hashlib.blake2b(raw, digest_size=32).hexdigest()


def _input(name: str, repo: str, branch: str, path: str, content: str = "x") -> DatumInput:
    return DatumInput(name, repo, branch, FileInfo(path, path.endswith("/"), content), None)


KNOWN_IDS = [
    (
        [_input("images", "images", "master", "/abc/")],
        "b8c7eb27515196e0a2df9fe550e8770d0803f6d6d20bf4fb8c8f5cc49accb2bd",
    ),
    (
        [_input("a", "r1", "master", "/x"), _input("b", "r2", "dev", "/y/z")],
        "f7706a772241047d2306fe7fb0e140ce03a0999e4670696d34a87d879d282bc9",
    ),
    ([], "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"),
]


@pytest.mark.parametrize(("inputs", "expected"), KNOWN_IDS)
def test_datum_id_known_answers(inputs: list[DatumInput], expected: str) -> None:
    assert datum_id(inputs) == expected
    fields = [v for i in inputs for v in (i.name, i.repo, i.branch, i.file.path)]
    assert _blake(*fields) == expected  # the spec formula, spelled out


def test_listed_ids_follow_the_formula() -> None:
    (datum,) = list_datums(PfsInput(repo="rawdata", glob="/*/0000000000000000", name="r"), STAGES)
    assert datum.id == _blake("r", "rawdata", "master", "/test.tsv/0000000000000000")


def _predict_datum(cat: bytes, salt_source: str = "model") -> Datum:
    source = MemorySource({"inpredict": {"/cat.png": cat}, salt_source: {"/saved/m.h5": b"m"}})
    node = CrossInput((PfsInput(repo="inpredict", glob="/*"), PfsInput(salt_source, "/saved")))
    (datum,) = list_datums(node, source)
    return datum


def test_hash_changes_iff_content_or_salt_changes() -> None:
    base = _predict_datum(b"cat")
    assert base.hash("salt") == _predict_datum(b"cat").hash("salt")
    assert base.hash("salt") != _predict_datum(b"cat2").hash("salt")
    assert base.hash("salt") != base.hash("other salt")
    assert base.id == _predict_datum(b"cat2").id  # same paths: same ID


def test_reference_inputs_do_not_count_in_the_hash() -> None:
    def datum(content: bytes) -> Datum:
        source = MemorySource({"ref": {"/a": content}})
        (found,) = list_datums(PfsInput(repo="ref", glob="/*", reference=True), source)
        return found

    assert datum(b"one").hash("s") == datum(b"two").hash("s")


def test_renaming_inside_a_directory_datum_keeps_its_hash() -> None:
    def datum(name: str) -> Datum:
        source = MemorySource({"images": {f"/chunk/{name}": b"same"}})
        (found,) = list_datums(PfsInput(repo="images", glob="/*"), source)
        return found

    assert datum("a.png").hash("s") == datum("b.png").hash("s")


def test_sort_inputs_orders_children_by_input_name_recursively() -> None:
    b, a, c = PfsInput("b", "/*"), PfsInput("a", "/*"), PfsInput("c", "/*")
    node = CrossInput((b, UnionInput((c, a))))
    assert sort_inputs(node) == CrossInput((UnionInput((a, c)), b))


# --- explanations ------------------------------------------------------------------------------

EXPLAIN_CASES: list[tuple[str, Input, str]] = [
    ("no match", PfsInput(repo="rawdata", glob="/*.csv"), "matches nothing"),
    ("no commit", PfsInput(repo="empty", glob="/*"), "has no commit yet"),
    (
        "missing capture",
        JoinInput(
            (
                PfsInput(repo="features", glob="/*", join_on="$1"),
                PfsInput(repo="rawdata", glob="/*/(*)", join_on="$1"),
            )
        ),
        "has 0 capture group(s)",
    ),
    (
        "constant key",
        JoinInput(
            (
                PfsInput(repo="features", glob="/*", join_on="$1"),
                PfsInput(repo="rawdata", glob="/*/*", join_on="x"),
            )
        ),
        "degenerates into a cross product",
    ),
]


@pytest.mark.parametrize(
    ("node", "message"), [c[1:] for c in EXPLAIN_CASES], ids=[c[0] for c in EXPLAIN_CASES]
)
def test_explain_warns(node: Input, message: str) -> None:
    report = explain_datums(node, STAGES)
    assert any(message in warning for warning in report.warnings), report.warnings
    assert report.datums == list_datums(node, STAGES)


def test_explain_is_quiet_when_all_is_well() -> None:
    report = explain_datums(PfsInput(repo="rawdata", glob="/*/*"), STAGES)
    assert (report.unmatched, report.warnings) == ({}, [])


# --- MemorySource ------------------------------------------------------------------------------


def test_memory_source_walks_files_and_dirs_in_path_order() -> None:
    source = MemorySource({"r": {"b/x": b"12", "/a-b": b"", "/a/y": b"3", "/a/z/w": b"45"}})
    walked = [(f.path, f.is_dir, f.size) for f in source.walk("r", "master")]
    assert walked == [
        ("/", True, 5),
        ("/a-b", False, 0),
        ("/a/", True, 3),
        ("/a/y", False, 1),
        ("/a/z/", True, 2),
        ("/a/z/w", False, 2),
        ("/b/", True, 2),
        ("/b/x", False, 2),
    ]
    by_path = {f.path: f.hash for f in source.walk("r", "master")}
    assert by_path["/a/y"] == hashlib.sha256(b"3").hexdigest()
    expected_dir = hashlib.sha256(by_path["/a/y"].encode() + by_path["/a/z/"].encode())
    assert by_path["/a/"] == expected_dir.hexdigest()
    for depth in range(4):
        limited = [f.path for f in source.walk_to_depth("r", "master", depth)]
        assert limited == [p for p, _, _ in walked if p.rstrip("/").count("/") <= depth]


def test_memory_source_errors_and_empty_branches() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        MemorySource({"r": {"/a": b"", "a": b""}})
    source = MemorySource({"r": {}}, uncommitted=["u"])
    assert [f.path for f in source.walk("u", "master")] == ["/"]
    assert source.head_commit("u", "master") is None
    assert source.head_commit("r", "master") is not None
    with pytest.raises(NotFoundError):
        source.walk("r", "dev")
