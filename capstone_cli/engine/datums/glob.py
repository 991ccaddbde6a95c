"""Pachyderm globs: an exact port of ohmyglob (the version pinned by Pachyderm 2.x) to Python `re`.

Pachyderm matches input globs with `github.com/pachyderm/ohmyglob`, which lexes and parses the
glob and compiles it to a backtracking (regexp2) regex with `/` as separator. Users' specs rely on
its exact behaviour, quirks included (see `reference/pachyderm-semantics.md` section 2), so
`glob_syntax.py` ports the lexer and parser and this module the compiler, step by step, instead of
writing a new glob dialect:

- the lexer keeps ohmyglob's context-dependent "breaker" sets (`,` and `}` only inside braces,
  `|` and `)` only inside captures, and `@x`/`!x`/`+x` falling back to text that only stops at
  `? * [ { (`), and its range quirk that the first `!`/`^` anywhere in `[...]` negates the class;
- text is escaped with Go's `regexp.QuoteMeta` set, not `re.escape` (classes are copied verbatim
  after that escaping, so `[a-c]` stays a range);
- `!(p)` uses the same closing-negation / boundary markers and the same global fix-up as ohmyglob;
- `^(p)` is lexed as a capture but ohmyglob's compiler has no case for it ("unimplemented
  quantifier"), so it is a `SpecError` here too, not a second spelling of `!(p)`.

The regex differs from ohmyglob's only where Python spells things differently (`\\Z` for `\\z`).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import warnings
from dataclasses import dataclass

from capstone_cli.engine.datums.glob_syntax import Kind, Node, parse_glob
from capstone_cli.errors import SpecError

__all__ = ["Glob", "Template", "clean_path", "compile_glob", "compile_template", "go_quote_meta"]

# ohmyglob's markers (U+FFFF, U+FFFE): where a negation may close, and what bounds its scope.
_CLOSE_NEG = "\uffff"
_BOUNDARY = "\ufffe"
_GO_REGEX_META = frozenset("\\.+*?()|[]{}^$")
_SEPARATOR_DOT = "[^/]"


def go_quote_meta(text: str) -> str:
    """Go's `regexp.QuoteMeta`: backslash before each of `\\.+*?()|[]{}^$` and nothing else."""
    return "".join("\\" + ch if ch in _GO_REGEX_META else ch for ch in text)


def clean_path(path: str) -> str:
    """Pachyderm's `pfsfile.CleanPath`: `path.Clean`, then exactly one leading `/`, none trailing.

    `""`, `"."` and `"/"` become `"/"`; `"a/"` and `"/a//"` become `"/a"`; `..` is resolved.
    """
    cleaned = posixpath.normpath(path)  # same as Go's path.Clean once slashes are trimmed below
    if cleaned == ".":
        return "/"
    return "/" + cleaned.strip("/")


# --- compiler ----------------------------------------------------------------------------------


def _compile_children(node: Node, joiner: str) -> str:
    return joiner.join(_compile_node(child) for child in node.children)


def _compile_node(node: Node) -> str:
    """ohmyglob's `compiler.compile`, marker for marker."""
    kind = node.kind
    if kind is Kind.ANY_OF:
        return "(?:" + _compile_children(node, "|") + ")" if node.children else ""
    if kind is Kind.PATTERN:
        return _compile_children(node, "")
    if kind is Kind.CAPTURE:
        quantifier = node.value
        if quantifier == "!":
            inner = _compile_children(node, _CLOSE_NEG + "|")
            return f"((?:(?!(?:{inner}{_CLOSE_NEG})){_SEPARATOR_DOT}*))"
        inner = _compile_children(node, "|")
        if quantifier == "@":
            return "(" + inner + ")"
        if quantifier == "^":
            # ohmyglob lexes `^(` as a capture but its compiler has no case for it.
            raise SpecError(
                "invalid glob: '^(...)' is not supported by Pachyderm's glob library",
                hint="write '!(...)' for 'anything except ...'",
            )
        return "((?:" + inner + ")" + quantifier + ")"
    if kind is Kind.ANY:
        return _SEPARATOR_DOT + "*" + _BOUNDARY
    if kind is Kind.SUPER:
        return ".*" + _BOUNDARY
    if kind is Kind.SINGLE:
        return _SEPARATOR_DOT
    if kind is Kind.LIST:
        return "[" + ("^" if node.negated else "") + go_quote_meta(node.value) + "]"
    return go_quote_meta(node.value) + _BOUNDARY  # TEXT


def _to_regex(tree: Node) -> str:
    """ohmyglob's `compiler.Compile`: resolve negation scopes, drop markers, anchor."""
    regex = _compile_node(tree)
    index = regex.find(_CLOSE_NEG + ")")
    if index > 0:
        closing = "" if _BOUNDARY in regex[index:] else "$"
        regex = regex.replace(_CLOSE_NEG, closing)
    return "\\A" + regex.replace(_BOUNDARY, "") + "\\Z"


# --- slash counting (for pruning by depth) -------------------------------------------------------

_MAX_DEPTH_SET = 64


def _sum_sets(left: frozenset[int] | None, right: frozenset[int] | None) -> frozenset[int] | None:
    if left is None or right is None:
        return None
    total = frozenset(a + b for a in left for b in right)
    return total if len(total) <= _MAX_DEPTH_SET else None


def _class_may_match_slash(node: Node) -> bool:
    if node.negated:
        return True
    compiled = "[" + go_quote_meta(node.value) + "]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.fullmatch(compiled, "/") is not None
    except re.error:
        return True


def _slash_counts(node: Node) -> frozenset[int] | None:
    """The possible numbers of `/` in a string this node matches; None when unbounded."""
    kind = node.kind
    if kind is Kind.TEXT:
        return frozenset({node.value.count("/")})
    if kind in (Kind.ANY, Kind.SINGLE):
        return frozenset({0})
    if kind is Kind.SUPER:
        return None
    if kind is Kind.LIST:
        return frozenset({0, 1}) if _class_may_match_slash(node) else frozenset({0})
    if kind is Kind.PATTERN:
        total: frozenset[int] | None = frozenset({0})
        for child in node.children:
            total = _sum_sets(total, _slash_counts(child))
        return total
    if kind is Kind.CAPTURE and node.value == "!":
        return frozenset({0})  # `(?!...)[^/]*`: whatever the alternatives, no slash is consumed
    options: set[int] = set()
    for child in node.children:
        counts = _slash_counts(child)
        if counts is None:
            return None
        options |= counts
    if kind is Kind.CAPTURE and node.value in "*+?":
        if node.value == "?" or not options:
            options.add(0)
        elif options != {0}:
            return None  # repeating something that can hold a slash: any count
    return frozenset(options)


# --- public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A parsed `join_on`/`group_by` template: literal pieces and capture-group numbers."""

    pieces: tuple[str | int, ...]

    def expand(self, match: re.Match[str] | None) -> str:
        """Substitute captures of `match`; a group that is out of range (or no match) gives ""."""
        if len(self.pieces) == 1 and isinstance(self.pieces[0], str):
            return self.pieces[0]
        out: list[str] = []
        groups = match.re.groups if match is not None else -1
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif match is not None and 0 <= piece <= groups:
                out.append(match.group(piece) or "")
        return "".join(out)


def _parse_group_ref(template: str, start: int) -> tuple[int, int] | None:
    """ohmyglob's `extract`: `$n` or `${n}` at `start` -> (number or -1, end); None if malformed."""
    i = start + 1
    brace = i < len(template) and template[i] == "{"
    if brace:
        i += 1
    digits_start = i
    while i < len(template) and unicodedata.category(template[i]) == "Nd":
        i += 1
    name = template[digits_start:i]
    if not name:
        return None
    if brace:
        if i >= len(template) or template[i] != "}":
            return None
        i += 1
    number = -1  # Go indexes with -1 and panics; we substitute "" instead
    if name.isascii() and not (name[0] == "0" and len(name) > 1) and len(name) <= 8:
        number = int(name)
    return number, i


def compile_template(template: str) -> Template:
    """Parse Pachyderm's `$N`/`${N}`/`$$` syntax once, so expanding it per file is cheap."""
    pieces: list[str | int] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        dollar = template.find("$", i)
        if dollar < 0:
            literal.append(template[i:])
            break
        literal.append(template[i:dollar])
        if template.startswith("$$", dollar):
            literal.append("$")
            i = dollar + 2
            continue
        ref = _parse_group_ref(template, dollar)
        if ref is None:
            literal.append("$")  # malformed: the `$` stays literal
            i = dollar + 1
            continue
        if literal:
            pieces.append("".join(literal))
            literal = []
        pieces.append(ref[0])
        i = ref[1]
    if literal or not pieces:
        pieces.append("".join(literal))
    return Template(tuple(pieces))


_ROOT_MATCH = re.compile(r"\A\Z")


@dataclass(frozen=True)
class Glob:
    """A compiled Pachyderm glob. `pattern` is the cleaned glob, `regex` ohmyglob's regex.

    `depths` is the set of path depths (number of segments; the root is 0) a match can have, or
    None when a construct (`**`, a negated class, a repeated group holding `/`) makes it unbounded.
    Datum listing uses it to skip paths without running the regex, and to walk only as deep as
    needed.
    """

    pattern: str
    regex: re.Pattern[str]
    depths: frozenset[int] | None

    @property
    def max_depth(self) -> int | None:
        return max(self.depths) if self.depths else None

    def match(self, path: str) -> re.Match[str] | None:
        """Match a repo path as Pachyderm's `globMatchFunction` does (trailing `/` ignored).

        The root (`/` or `""`) matches only the glob `/`; the match then has no groups.
        """
        stripped = path.rstrip("/")
        if not stripped:
            return _ROOT_MATCH.match("") if self.pattern == "/" else None
        return self.regex.match(stripped)

    def replace(self, path: str, template: str) -> str:
        """ohmyglob's `Glob.Replace`: `$N`/`${N}` from the captures of `path`, `$$` is `$`."""
        return compile_template(template).expand(self.match(path))


def compile_glob(glob: str) -> Glob:
    """Clean `glob` like Pachyderm (`pfsfile.CleanPath`) and compile it; SpecError if malformed."""
    pattern = clean_path(glob)
    tree = parse_glob(pattern)
    source = _to_regex(tree)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings of `[...]`
            regex = re.compile(source)
    except re.error as exc:
        raise SpecError(
            f"invalid glob {glob!r}: {exc.msg} (in the regex {source!r})",
            hint="check the character classes '[...]' (ranges must go low to high, like [a-z]) "
            "or escape special characters with '\\'",
        ) from exc
    if pattern == "/":
        depths: frozenset[int] | None = frozenset({0})
    else:
        depths = _slash_counts(tree)
    return Glob(pattern=pattern, regex=regex, depths=depths)
