"""The ohmyglob port: grammar -> regex, matching, captures, `$N` replacement, cleaning, errors."""

from __future__ import annotations

import pytest

from capstone_cli.engine.datums.glob import (
    clean_path,
    compile_glob,
    compile_template,
    go_quote_meta,
)
from capstone_cli.errors import SpecError

# (glob, regex ohmyglob produces with separator "/"; `\z` is spelled `\Z` in Python)
REGEXES = [
    ("*", r"\A/[^/]*\Z"),
    ("/**", r"\A/.*\Z"),
    ("/?", r"\A/[^/]\Z"),
    ("/[abc]", r"\A/[abc]\Z"),
    ("/[a-c]", r"\A/[a-c]\Z"),
    ("/[!abc]", r"\A/[^abc]\Z"),
    ("/[^abc]", r"\A/[^abc]\Z"),
    ("/[a!b]", r"\A/[^ab]\Z"),  # quirk: the first `!` anywhere in a class negates it
    ("/[a\\]]", r"\A/[a\]]\Z"),
    ("/[[:digit:]]", r"\A/[\[0-9\]]\Z"),  # POSIX classes are expanded textually
    ("/[![:upper:]]", r"\A/[^\[A-Z\]]\Z"),
    ("/{a,b}", r"\A/(?:a|b)\Z"),
    ("/{a,b", r"\A/(?:a|b)\Z"),  # unclosed braces are closed at the end
    ("/{a,!b}", r"\A/(?:a|!b\})\Z"),  # `!` without `(` lexes text up to `? * [ { (` only
    ("/(a|b)", r"\A/(a|b)\Z"),
    ("/@(a|b)", r"\A/(a|b)\Z"),
    ("/(a", r"\A/(a)\Z"),
    ("/*(a|b)", r"\A/((?:a|b)*)\Z"),
    ("/+(a|b)", r"\A/((?:a|b)+)\Z"),
    ("/?(a|b)", r"\A/((?:a|b)?)\Z"),
    ("/**(a)", r"\A/[^/]*((?:a)*)\Z"),  # `**(` is `*` then `*(`
    ("/***", r"\A/.*[^/]*\Z"),
    ("/!(a)", r"\A/((?:(?!(?:a$))[^/]*))\Z"),  # nothing bounds the negation: up to the end
    ("/!(a|b)", r"\A/((?:(?!(?:a$|b$))[^/]*))\Z"),
    ("/!(a).txt", r"\A/((?:(?!(?:a))[^/]*))\.txt\Z"),  # text after it bounds the negation
    ("/!(**)", r"\A/((?:(?!(?:.*$))[^/]*))\Z"),
    ("/a\\*b", r"\A/a\*b\Z"),
    ("/a\\", r"\A/a\Z"),  # a trailing backslash escapes nothing
    ("/a.b+c$d^e|f", r"\A/a\.b\+c\$d\^e\|f\Z"),
    ("/a@b", r"\A/a@b\Z"),
    ("/a)b|c", r"\A/a\)b\|c\Z"),  # `)` and `|` are text outside a capture
    ("/a,b}", r"\A/a,b\}\Z"),
    ("/(a,b)", r"\A/(a,b)\Z"),
    ("/{(a,b)}", r"\A/(?:(a|b\)))\Z"),  # in braces `,` separates and `)` is text
]


@pytest.mark.parametrize(("glob", "regex"), REGEXES)
def test_grammar_compiles_to_ohmyglob_regex(glob: str, regex: str) -> None:
    assert compile_glob(glob).regex.pattern == regex


FILES = ["/", "/a/", "/a/1.txt", "/a/2.txt", "/b/", "/b/3.txt", "/c.txt"]

# reference section 2.2, "verified expansions"
EXPANSIONS = [
    ("/", ["/"]),
    ("/*", ["/a/", "/b/", "/c.txt"]),
    ("*", ["/a/", "/b/", "/c.txt"]),
    ("/*/", ["/a/", "/b/", "/c.txt"]),
    ("/*/*", ["/a/1.txt", "/a/2.txt", "/b/3.txt"]),
    ("/**", FILES[1:]),
    ("/**/*.txt", ["/a/1.txt", "/a/2.txt", "/b/3.txt"]),
    ("/**.txt", ["/a/1.txt", "/a/2.txt", "/b/3.txt", "/c.txt"]),
    ("/{a,b}/*", ["/a/1.txt", "/a/2.txt", "/b/3.txt"]),
    ("/!(a)", ["/b/", "/c.txt"]),
    ("!(**)", []),
    ("/a/../b/*", ["/b/3.txt"]),
    ("/?/?.txt", ["/a/1.txt", "/a/2.txt", "/b/3.txt"]),
    ("/[ab]/[!1].txt", ["/a/2.txt", "/b/3.txt"]),
    ("/**/x", []),
]


@pytest.mark.parametrize(("glob", "expected"), EXPANSIONS)
def test_verified_expansions(glob: str, expected: list[str]) -> None:
    compiled = compile_glob(glob)
    assert [path for path in FILES if compiled.match(path)] == expected


# (pattern, fixture, matches): ohmyglob's extglob_test.go cases, run under "/" with separator "/"
EXTGLOB = [
    ("*.(a|b)", "a.a.a", True),
    ("*.(a|b)", "a.bb", False),
    ("*.(a|b)*", "d.a.d", True),
    ("??", "aab", False),
    ("?(a*|b)", "ax", True),
    ("?@(a|b)*@(c)d", "abcd", True),
    ("(*(a|b\\[)|f*)", "foo", True),
    ("(a+|b)+", "abd", False),
    ("[a*\\(]*z", "abcz", True),
    ("[a*\\(]*z", "bbc", False),
    ("@(ab|a*(b))*(c)d", "acd", True),
    ("@(b+(c)d|e*(f)g?|?(h)i@(j|k))", "effgz", True),
    ("@(b+(c)d|e+(f)g?|?(h)i@(j|k))", "egz", False),
    ("@(foo|f|fo)*(f|of+(o))", "foofoofo", True),
    ("*;[1-9]*([0-9])", '"MS.FILE;13"', False),
    ("*;[1-9]**([0-9])*", '"MS.FILE;13"', True),
    ("!(*.js|*.json)", "a.js", False),
    ("!(*.js|*.json)", "a.js.gz", True),
    ("a*!(x)", "ax", True),
    ("a!(x)", "ax", False),
    ("!(x)*", "foo", True),
    ("!(foo)", "foo", False),
    ("!(!(foo))", "foo", True),
    ("!(!(!(foo)))", "foo", False),
    ("!(foo)*", "foo", False),
    ("!(foo)", "foobar", True),
    ("!(foo)*", "foobar", False),
    ("!(*.*).!(*.*)", "moo.cow", False),
    ("mu!(*(c))?.pa!(*(z))?", "mucca.pazza", False),
    ("*(!(f))", "fff", True),
    ("+(!(f))", "f", False),
    ("@(!(z*)|*x)", "zoot", False),
    ("@(!(z*)|*x)", "zoox", True),
    ("*(!(foo))", "foo", False),
    ("!(foo)b*", "foobb", False),
    ("*.!(js|css)", "bar.min.js", True),
    ("!(*(*.json|!(*.js)))*", "other.bar", False),
    ("*.!(js)*.!(xy)", "asd.js.xyz", False),
    ("*.!(j)", "a-integration-test.js", True),
    ("*-!(integration)-test.js", "a-integration-test.js", False),
    ("*!(-integration)-test.js", "a-integration-test.js", True),
]


@pytest.mark.parametrize(("pattern", "fixture", "matches"), EXTGLOB)
def test_ohmyglob_extglob_cases(pattern: str, fixture: str, matches: bool) -> None:
    assert (compile_glob("/" + pattern).match("/" + fixture) is not None) is matches


SEPARATOR_CASES = [
    ("/*", "/a/b", False),  # `*` and `?` never cross `/`
    ("/?", "/", False),
    ("/a[!b]c", "/a/c", True),  # ...but a negated class does
    ("/a[^b]c", "/a/c", True),
    ("/[[:alpha:]]", "/[", True),  # `[[:alpha:]]` also holds `[` and `]`
    ("/[[:alpha:]]", "/1", False),
    ("/!(x)", "/foo/bar", False),
    ("/x*", "/x\n", True),  # classes match a newline, as in regexp2...
    ("/**", "/x\ny", False),  # ...but `.` does not
]


@pytest.mark.parametrize(("glob", "path", "matches"), SEPARATOR_CASES)
def test_separator_semantics(glob: str, path: str, matches: bool) -> None:
    assert (compile_glob(glob).match(path) is not None) is matches


def test_root_only_matches_glob_slash() -> None:
    assert compile_glob("/").match("/") is not None
    assert compile_glob("").match("/") is not None  # "" cleans to "/"
    for glob in ("/*", "/**", "/!(a)", "/{,a}"):
        assert compile_glob(glob).match("/") is None
    assert compile_glob("/").match("/a") is None


DEPTHS = [
    ("/", frozenset({0})),
    ("/*", frozenset({1})),
    ("/*/*", frozenset({2})),
    ("/test.tsv/*", frozenset({2})),
    ("/{a,b/c}", frozenset({1, 2})),
    ("/?(a/)b", frozenset({1, 2})),
    ("/a[!b]c", frozenset({1, 2})),
    ("/[+-0]", frozenset({1, 2})),  # the range `+-0` holds `/`
    ("/!(a/b)", frozenset({1})),
    ("/*(a/b)", None),
    ("/**", None),
]


@pytest.mark.parametrize(("glob", "depths"), DEPTHS)
def test_depths_bound_where_matches_can_be(glob: str, depths: frozenset[int] | None) -> None:
    assert compile_glob(glob).depths == depths


CLEAN = [
    ("", "/"),
    (".", "/"),
    ("/", "/"),
    ("abc", "/abc"),
    ("/abc/", "/abc"),
    ("//a//b//", "/a/b"),
    ("/a/./b/../c", "/a/c"),
    ("/..", "/"),
    ("../a", "/../a"),
]


@pytest.mark.parametrize(("raw", "cleaned"), CLEAN)
def test_clean_path_is_pfsfile_cleanpath(raw: str, cleaned: str) -> None:
    assert clean_path(raw) == cleaned


# (glob, path, template, result): reference 2.3 and ohmyglob's capture_test.go
REPLACE = [
    ("/foo(?)(?)", "/foo12", "$1$2", "12"),
    ("/foo(?)(?)", "/foo12", "$2$1", "21"),
    ("/foo(?)(?)", "/foo12", "$0", "/foo12"),
    ("/foo(?)(?)", "/foo12", "", ""),
    ("/foo(?)(?)", "/foo12", "${1}0", "10"),
    ("/foo(?)(?)", "/foo12", "$$1", "$1"),
    ("/foo(?)(?)", "/foo12", "$3", ""),  # out of range
    ("/foo(?)(?)", "/foo12", "a$", "a$"),  # malformed: literal
    ("/foo(?)(?)", "/foo12", "$x${1", "$x${1"),
    ("/foo(?)(?)", "/foo12", "$01", ""),  # Go would index -1 and panic
    ("/foo(?)(?)", "/bar", "$1", ""),  # no match: every group is out of range
    ("/(*)", "/foo-1/", "$1", "foo-1"),  # the trailing slash is trimmed first
    ("/(*)/", "/foo-1/", "$1", "foo-1"),  # TestJoinTrailingSlash
    ("/name=(*)", "/name=adele", "$1", "adele"),
    (
        "/name=(*)/year=(*)/(*).dat",
        "/name=adele/year=2016/photos.dat",
        "$3 of $1 from $2",
        "photos of adele from 2016",
    ),
    ("/(((((((((??)))))))))*(a|b)", "/xfbaaaababbbabaa", "$10", "baaaababbbabaa"),
    (
        "/name=!(adele)/year=(2?1(?))/(*).dat",
        "/name=roxanne/year=2514/puzzle.dat",
        "$1 from the $3th year of the decade, obtained a $4",
        "roxanne from the 4th year of the decade, obtained a puzzle",
    ),
    ("/test/a*(a|b)/x.go", "/test/aba/x.go", "$1", "ba"),
    ("/test/a?(a|b)/?(*).go", "/test/aa/x.go", "$1+$2", "a+x"),
    ("/test*(/?(+(a|b)/*.go))", "/test/a/x.go", "$1|$2|$3", "/a/x.go|a/x.go|a"),
    ("/", "/", "$0$1", ""),
]


@pytest.mark.parametrize(("glob", "path", "template", "result"), REPLACE)
def test_replace_substitutes_captures(glob: str, path: str, template: str, result: str) -> None:
    assert compile_glob(glob).replace(path, template) == result


def test_template_pieces() -> None:
    assert compile_template("a$1b${2}$$").pieces == ("a", 1, "b", 2, "$")
    assert compile_template("").pieces == ("",)


MALFORMED = [
    ("/[abc", "no closing ']'"),
    ("/^(a)", "not supported"),  # ohmyglob lexes `^(` but cannot compile it
    ("/[z-a]", "bad character range"),
    ("/[]", "invalid glob"),  # `[]` opens a class that `]` alone cannot close
]


@pytest.mark.parametrize(("glob", "message"), MALFORMED)
def test_malformed_globs_raise_spec_error(glob: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        compile_glob(glob)
    assert caught.value.hint


def test_go_quote_meta_escapes_only_gos_set() -> None:
    assert go_quote_meta("a-b.c*[d]{e}(f)|g^h$i+j?k\\l/m!@#") == (
        "a-b\\.c\\*\\[d\\]\\{e\\}\\(f\\)\\|g\\^h\\$i\\+j\\?k\\\\l/m!@#"
    )
