"""ohmyglob's lexer and parser (`syntax/lexer`, `syntax/ast`), ported rune for rune.

The lexer's context-dependent "breaker" sets are what make Pachyderm's globs behave as they do:
`,` and `}` only separate inside braces, `|` and `)` only inside captures, `@x`/`!x`/`+x` fall
back to text that stops only at `? * [ { (`, and the first `!`/`^` anywhere inside `[...]`
negates the class. `parse_glob` returns the AST that `glob.py` compiles to a regex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from capstone_cli.errors import SpecError

__all__ = ["Kind", "Node", "parse_glob"]

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


class Kind(Enum):
    PATTERN = auto()
    LIST = auto()
    CAPTURE = auto()
    TEXT = auto()
    ANY = auto()
    SUPER = auto()
    SINGLE = auto()
    ANY_OF = auto()


@dataclass(eq=False)
class Node:
    kind: Kind
    value: str = ""  # TEXT: the text; LIST: the chars; CAPTURE: the quantifier
    negated: bool = False  # LIST only
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)

    def add(self, child: Node) -> Node:
        child.parent = self
        self.children.append(child)
        return child


def _grandparent(node: Node) -> Node:
    if node.parent is None or node.parent.parent is None:  # unreachable: closes never exceed opens
        raise SpecError("invalid glob: unbalanced brackets", hint="check '{', '}', '(' and ')'")
    return node.parent.parent


def _parse(tokens: list[_Token]) -> Node:
    """ohmyglob's `syntax/ast` parser: unclosed `{`/`(` are closed silently at the end."""
    root = Node(Kind.PATTERN)
    tree = root
    i = 0
    while i < len(tokens):
        kind, raw = tokens[i]
        i += 1
        if kind is _Tok.TEXT:
            tree.add(Node(Kind.TEXT, raw))
        elif kind is _Tok.ANY:
            tree.add(Node(Kind.ANY))
        elif kind is _Tok.SUPER:
            tree.add(Node(Kind.SUPER))
        elif kind is _Tok.SINGLE:
            tree.add(Node(Kind.SINGLE))
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
            tree.add(Node(Kind.LIST, chars, negated))
        elif kind is _Tok.TERMS_OPEN:
            tree = tree.add(Node(Kind.ANY_OF)).add(Node(Kind.PATTERN))
        elif kind is _Tok.CAPTURE_OPEN:
            tree = tree.add(Node(Kind.CAPTURE, raw)).add(Node(Kind.PATTERN))
        elif kind is _Tok.SEPARATOR:
            if tree.parent is None:  # unreachable, see _grandparent
                raise SpecError("invalid glob: separator outside braces or parentheses")
            tree = tree.parent.add(Node(Kind.PATTERN))
        else:  # TERMS_CLOSE, CAPTURE_CLOSE
            tree = _grandparent(tree)
    return root


def parse_glob(pattern: str) -> Node:
    """Lex and parse a (cleaned) glob into ohmyglob's AST; SpecError on an unclosed `[`."""
    return _parse(_Lexer(pattern).run())
