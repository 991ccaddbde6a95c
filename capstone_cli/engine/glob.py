"""Pachyderm globs: an exact port of ohmyglob (the version pinned by Pachyderm 2.x) to Python `re`.

Pachyderm matches input globs with `github.com/pachyderm/ohmyglob`, which lexes and parses the
glob and compiles it to a backtracking (regexp2) regex with `/` as separator. Users' specs rely on
its exact behaviour, quirks included (see `reference/pachyderm-semantics.md` section 2), so this
module ports the lexer, parser and compiler step by step instead of writing a new glob dialect:

- the lexer keeps ohmyglob's context-dependent "breaker" sets (`,` and `}` only inside braces,
  `|` and `)` only inside captures, and `@x`/`!x`/`+x` falling back to text that only stops at
  `? * [ { (`), and its range quirk that the first `!`/`^` anywhere in `[...]` negates the class;
- text is escaped with Go's `regexp.QuoteMeta` set, not `re.escape` (classes are copied verbatim
  after that escaping, so `[a-c]` stays a range);
- `!(p)` uses the same closing-negation / boundary markers and the same global fix-up as ohmyglob.

The regex differs from ohmyglob's only where Python spells things differently (`\\Z` for `\\z`).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from enum import Enum, auto

from capstone_cli.errors import SpecError

__all__ = ["Glob", "Template", "clean_path", "compile_glob", "compile_template", "go_quote_meta"]

# ohmyglob's markers (U+FFFF, U+FFFE): where a negation may close, and what bounds its scope.
_CLOSE_NEG = "\uffff"
_BOUNDARY = "\ufffe"
_GO_REGEX_META = frozenset("\\.+*?()|[]{}^$")
_SEPARATOR_DOT = "[^/]"

# ohmyglob's POSIX classes, expanded textually inside `[...]` (so `[[:alpha:]]` also matches
# `[` and `]`, exactly as in Pachyderm).
_POSIX_CLASSES: tuple[tuple[str, str], ...] = (
    (":alnum:", "0-9A-Za-z"),
    (":alpha:", "A-Za-z"),
    (":ascii:", "\x00-\x7f"),
    (":blank:", "\t "),
    (":cntrl:", "\x00-\x1f\x7f"),
    (":digit:", "0-9"),
    (":graph:", "!-~]"),
    (":lower:", "a-z"),
    (":print:", " -~"),
    (":punct:", "!-/:-@[-`{-~"),
    (":space:", "\t\n\v\f\r "),
    (":upper:", "A-Z"),
    (":word:", "0-9A-Za-z_"),
    (":xdigit:", "0-9A-Fa-f"),
)

_BASIC_BREAKERS = frozenset("?*[{(")
_EXTENDED_BREAKERS = _BASIC_BREAKERS | frozenset("@!^+")
_CAPTURE_BREAKERS = _EXTENDED_BREAKERS | frozenset(")|")
_TERMS_BREAKERS = _EXTENDED_BREAKERS | frozenset("},")
_EOF = ""


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


# --- lexer -------------------------------------------------------------------------------------


class _Tok(Enum):
    TEXT = auto()
    ANY = auto()
    SUPER = auto()
    SINGLE = auto()
    NOT = auto()
    SEPARATOR = auto()
    RANGE_OPEN = auto()
    RANGE_CLOSE = auto()
    TERMS_OPEN = auto()
    TERMS_CLOSE = auto()
    CAPTURE_OPEN = auto()
    CAPTURE_CLOSE = auto()


_Token = tuple[_Tok, str]


class _Lexer:
    """ohmyglob's `syntax/lexer`, including its one-rune unread buffer and level counters."""

    def __init__(self, source: str) -> None:
        self.data = source
        self.pos = 0
        self.last_size = 0
        self.terms_level = 0
        self.capture_level = 0
        self.tokens: list[_Token] = []

    def read(self) -> str:
        if self.pos >= len(self.data):
            self.last_size = 0
            return _EOF
        ch = self.data[self.pos]
        self.pos += 1
        self.last_size = 1
        return ch

    def peek(self) -> str:
        return self.data[self.pos] if self.pos < len(self.data) else _EOF

    def unread(self) -> None:
        self.pos -= self.last_size
        self.last_size = 0

    def run(self) -> list[_Token]:
        while self._fetch_item():
            pass
        return self.tokens

    def _open_capture(self, quantifier: str) -> None:
        self.tokens.append((_Tok.CAPTURE_OPEN, quantifier))
        self.capture_level += 1

    def _fetch_item(self) -> bool:
        """Lex one item; False at the end of input. One branch per case of ohmyglob's switch."""
        ch = self.read()
        push = self.tokens.append
        if ch == _EOF:
            return False
        if ch == "{":
            self.terms_level += 1
            push((_Tok.TERMS_OPEN, ch))
        elif ch == "," and self.terms_level > 0:
            push((_Tok.SEPARATOR, ch))
        elif ch == "}" and self.terms_level > 0:
            push((_Tok.TERMS_CLOSE, ch))
            self.terms_level -= 1
        elif ch == "|" and self.capture_level > 0:
            push((_Tok.SEPARATOR, ch))
        elif ch == "[":
            push((_Tok.RANGE_OPEN, ch))
            self._fetch_range()
        elif ch == "(":
            self._open_capture("@")
        elif ch in "@!^+":
            if self.peek() == "(":
                self.read()
                self._open_capture(ch)
            else:
                self.unread()
                self._fetch_text(_BASIC_BREAKERS)
        elif ch == ")" and self.capture_level > 0:
            push((_Tok.CAPTURE_CLOSE, ch))
            self.capture_level -= 1
        elif ch == "?":
            if self.read() == "(":
                self._open_capture("?")
            else:
                self.unread()
                push((_Tok.SINGLE, ch))
        elif ch == "*":
            nxt = self.read()
            if nxt == "*":
                if self.peek() == "(":
                    self.unread()
                    push((_Tok.ANY, ch))
                else:
                    push((_Tok.SUPER, "**"))
            elif nxt == "(":
                self._open_capture("*")
            else:
                self.unread()
                push((_Tok.ANY, ch))
        else:
            self.unread()
            if self.terms_level > 0:
                breakers = _TERMS_BREAKERS
            elif self.capture_level > 0:
                breakers = _CAPTURE_BREAKERS
            else:
                breakers = _EXTENDED_BREAKERS
            self._fetch_text(breakers)
        return True

    def _fetch_range(self) -> None:
        seen_not = in_posix = escaped = False
        chars: list[str] = []
        while True:
            ch = self.read()
            if ch == _EOF:
                raise SpecError(
                    f"invalid glob {self.data!r}: '[' at the end has no closing ']'",
                    hint="close the character class with ']', or write '\\[' for a literal '['",
                )
            if not escaped:
                if ch == "\\":
                    escaped = True
                    continue
                if ch == "[":
                    in_posix = True
                if ch == "]":
                    if not in_posix:
                        break
                    in_posix = False
                if not seen_not and ch in "!^":
                    self.tokens.append((_Tok.NOT, ch))
                    seen_not = True
                    continue
            escaped = False
            chars.append(ch)
        if chars:
            self.tokens.append((_Tok.TEXT, "".join(chars)))
        self.tokens.append((_Tok.RANGE_CLOSE, "]"))

    def _fetch_text(self, breakers: frozenset[str]) -> None:
        chars: list[str] = []
        escaped = False
        while True:
            ch = self.read()
            if ch == _EOF:
                break
            if not escaped:
                if ch == "\\":
                    escaped = True
                    continue
                if ch in breakers:
                    self.unread()
                    break
            escaped = False
            chars.append(ch)
        if chars:
            self.tokens.append((_Tok.TEXT, "".join(chars)))


# --- parser ------------------------------------------------------------------------------------


class _Kind(Enum):
    PATTERN = auto()
    LIST = auto()
    CAPTURE = auto()
    TEXT = auto()
    ANY = auto()
    SUPER = auto()
    SINGLE = auto()
    ANY_OF = auto()


@dataclass(eq=False)
class _Node:
    kind: _Kind
    value: str = ""  # TEXT: the text; LIST: the chars; CAPTURE: the quantifier
    negated: bool = False  # LIST only
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)

    def add(self, child: _Node) -> _Node:
        child.parent = self
        self.children.append(child)
        return child


def _grandparent(node: _Node) -> _Node:
    if node.parent is None or node.parent.parent is None:  # unreachable: closes never exceed opens
        raise SpecError("invalid glob: unbalanced brackets", hint="check '{', '}', '(' and ')'")
    return node.parent.parent


def _parse(tokens: list[_Token]) -> _Node:
    """ohmyglob's `syntax/ast` parser: unclosed `{`/`(` are closed silently at the end."""
    root = _Node(_Kind.PATTERN)
    tree = root
    i = 0
    while i < len(tokens):
        kind, raw = tokens[i]
        i += 1
        if kind is _Tok.TEXT:
            tree.add(_Node(_Kind.TEXT, raw))
        elif kind is _Tok.ANY:
            tree.add(_Node(_Kind.ANY))
        elif kind is _Tok.SUPER:
            tree.add(_Node(_Kind.SUPER))
        elif kind is _Tok.SINGLE:
            tree.add(_Node(_Kind.SINGLE))
        elif kind is _Tok.RANGE_OPEN:
            negated, chars = False, ""
            while tokens[i][0] is not _Tok.RANGE_CLOSE:  # the lexer always emits the close
                if tokens[i][0] is _Tok.NOT:
                    negated = True
                else:
                    chars = tokens[i][1]
                    for name, expansion in _POSIX_CLASSES:
                        chars = chars.replace(name, expansion)
                i += 1
            i += 1
            tree.add(_Node(_Kind.LIST, chars, negated))
        elif kind is _Tok.TERMS_OPEN:
            tree = tree.add(_Node(_Kind.ANY_OF)).add(_Node(_Kind.PATTERN))
        elif kind is _Tok.CAPTURE_OPEN:
            tree = tree.add(_Node(_Kind.CAPTURE, raw)).add(_Node(_Kind.PATTERN))
        elif kind is _Tok.SEPARATOR:
            if tree.parent is None:  # unreachable, see _grandparent
                raise SpecError("invalid glob: separator outside braces or parentheses")
            tree = tree.parent.add(_Node(_Kind.PATTERN))
        else:  # TERMS_CLOSE, CAPTURE_CLOSE
            tree = _grandparent(tree)
    return root


# --- compiler ----------------------------------------------------------------------------------


def _compile_children(node: _Node, joiner: str) -> str:
    return joiner.join(_compile_node(child) for child in node.children)


def _compile_node(node: _Node) -> str:
    """ohmyglob's `compiler.compile`, marker for marker."""
    kind = node.kind
    if kind is _Kind.ANY_OF:
        return "(?:" + _compile_children(node, "|") + ")" if node.children else ""
    if kind is _Kind.PATTERN:
        return _compile_children(node, "")
    if kind is _Kind.CAPTURE:
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
    if kind is _Kind.ANY:
        return _SEPARATOR_DOT + "*" + _BOUNDARY
    if kind is _Kind.SUPER:
        return ".*" + _BOUNDARY
    if kind is _Kind.SINGLE:
        return _SEPARATOR_DOT
    if kind is _Kind.LIST:
        return "[" + ("^" if node.negated else "") + go_quote_meta(node.value) + "]"
    return go_quote_meta(node.value) + _BOUNDARY  # TEXT


def _to_regex(tree: _Node) -> str:
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


def _class_may_match_slash(node: _Node) -> bool:
    if node.negated:
        return True
    compiled = "[" + go_quote_meta(node.value) + "]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.fullmatch(compiled, "/") is not None
    except re.error:
        return True


def _slash_counts(node: _Node) -> frozenset[int] | None:
    """The possible numbers of `/` in a string this node matches; None when unbounded."""
    kind = node.kind
    if kind is _Kind.TEXT:
        return frozenset({node.value.count("/")})
    if kind in (_Kind.ANY, _Kind.SINGLE):
        return frozenset({0})
    if kind is _Kind.SUPER:
        return None
    if kind is _Kind.LIST:
        return frozenset({0, 1}) if _class_may_match_slash(node) else frozenset({0})
    if kind is _Kind.PATTERN:
        total: frozenset[int] | None = frozenset({0})
        for child in node.children:
            total = _sum_sets(total, _slash_counts(child))
        return total
    if kind is _Kind.CAPTURE and node.value == "!":
        return frozenset({0})  # `(?!...)[^/]*`: whatever the alternatives, no slash is consumed
    options: set[int] = set()
    for child in node.children:
        counts = _slash_counts(child)
        if counts is None:
            return None
        options |= counts
    if kind is _Kind.CAPTURE and node.value in "*+?":
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
    tree = _parse(_Lexer(pattern).run())
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
