"""Declarative grammar: what each block accepts, shared by parser and builder.

A block holds either *statements* (``keyword args... [{ ... }]``) described
by :class:`Keyword` entries, or *items* (``virtual_ipaddress``'s address
lines) described by an :class:`ItemSpec`. Knowing each keyword's arity is
what lets several statements share one line, as in configs that a web page
collapsed onto a single line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..compat import SLOTS
from .errors import Diagnostics, Location
from .lexer import Token

IGNORED = object()  # an obsolete keyword's value: warned about, kept out of the model (build.collect)


@dataclass(**SLOTS)
class Statement:
    """``keyword arg... [{ children }]`` as it appeared in the file."""

    keyword: Token
    args: list[Token]
    spec: Keyword
    children: list[Any] | None = None  # Statement or Item nodes
    end: Location | None = None  # location of the closing brace

    @property
    def loc(self) -> Location:
        return self.keyword.loc

    @property
    def name(self) -> str:
        return self.keyword.text


@dataclass(**SLOTS)
class Item:
    """One entry of an item block: head tokens plus ``option value`` pairs."""

    head: list[Token]
    options: dict[str, list[Token]]
    option_tokens: dict[str, Token]

    @property
    def loc(self) -> Location:
        return self.head[0].loc


@dataclass(frozen=True)
class Keyword:
    """One keyword: its arity, its child block, and the function giving its value.

    ``convert(stmt)`` returns the typed value or raises ConfigError; ``check``
    is the voluptuous validator applied to that value; ``field`` names the
    model attribute (several aliases may share one field).
    """

    name: str
    convert: Callable[[Statement, Diagnostics], Any] | None
    nargs: tuple[int, int] = (1, 1)
    field: str | None = None
    block: BlockSpec | ItemSpec | None = None
    repeat: bool = False
    check: Any = None

    @property
    def attr(self) -> str:
        return self.field or self.name


@dataclass(frozen=True)
class ItemSpec:
    """Items: ``head [option [value...]]...``; options map name -> arity."""

    name: str
    head_nargs: tuple[int, int] = (1, 1)
    options: dict[str, int] = field(default_factory=dict)


@dataclass
class BlockSpec:
    """A block of statements; ``keywords`` maps every accepted name (aliases too)."""

    name: str
    keywords: dict[str, Keyword] = field(default_factory=dict)

    def add(self, *keywords: Keyword, aliases: dict[str, str] | None = None) -> BlockSpec:
        for kw in keywords:
            self.keywords[kw.name] = kw
        for alias, target in (aliases or {}).items():
            kw = self.keywords[target]
            self.keywords[alias] = Keyword(alias, kw.convert, kw.nargs, kw.attr, kw.block,
                                           kw.repeat, kw.check)
        return self
