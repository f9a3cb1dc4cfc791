"""Grammar-driven parser: tokens -> a tree of Statement and Item nodes.

Statements end at a line break, at a closing brace, when their keyword's
maximum arity is reached, or at the next keyword the block knows (once the
minimum arity is met). Errors are collected and parsing resumes at the next
known keyword, so one run reports every problem, up to the limit per file
(errors.MAX_PER_FILE): past it the parser stops, as a compiler does.
"""

from __future__ import annotations

import difflib

from .errors import Diagnostics, shown
from .grammar import BlockSpec, Item, ItemSpec, Keyword, Statement
from .known import KEEPALIVED_KEYWORDS, where_valid
from .lexer import LBRACE, RBRACE, Token


class Parser:
    def __init__(self, tokens: list[Token], diags: Diagnostics) -> None:
        self.tokens = tokens
        self.pos = 0
        self.diags = diags

    # -- helpers -------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def give_up(self) -> bool:
        """True (and at the end of input) once some file had too many errors."""
        if self.diags.gave_up:
            self.pos = len(self.tokens)
        return self.diags.gave_up

    def _same_line_value(self) -> Token | None:
        tok = self.peek()
        if tok is None or tok.first or not tok.is_value:
            return None
        return tok

    def skip_block(self) -> None:
        """Skip a balanced ``{ ... }`` starting at the current LBRACE."""
        depth = 0
        while (tok := self.peek()) is not None:
            self.pos += 1
            if tok.kind == LBRACE:
                depth += 1
            elif tok.kind == RBRACE:
                depth -= 1
                if depth == 0:
                    return

    def skip_unknown(self, spec: BlockSpec) -> None:
        """Recover after a bad keyword: drop its line's values and any block."""
        while (tok := self._same_line_value()) is not None and tok.text not in spec.keywords:
            self.pos += 1
        tok = self.peek()
        if tok is not None and tok.kind == LBRACE:
            self.skip_block()

    # -- blocks --------------------------------------------------------------
    def parse_top(self, spec: BlockSpec) -> list[Statement]:
        nodes = self.parse_statements(spec, top=True)
        return nodes

    def parse_statements(self, spec: BlockSpec, top: bool = False) -> list[Statement]:
        nodes: list[Statement] = []
        while (tok := self.peek()) is not None and not self.give_up():
            if tok.kind == RBRACE:
                if top:
                    self.diags.error(tok.loc, "unexpected '}' with no block open")
                    self.pos += 1
                    continue
                return nodes
            if tok.kind == LBRACE:
                self.diags.error(tok.loc, "unexpected '{' (a block needs a keyword before it)")
                self.skip_block()
                continue
            kw = spec.keywords.get(tok.text)
            self.pos += 1
            if kw is None and tok.first and tok.text[:1] == "$":
                self.report_preprocessor(tok)
                continue
            if kw is None:
                self.report_unknown(tok, spec)
                self.skip_unknown(spec)
                continue
            node = self.parse_statement(tok, kw, spec)
            if node is not None:
                nodes.append(node)
        return nodes

    def parse_statement(self, tok: Token, kw: Keyword, spec: BlockSpec) -> Statement | None:
        lo, hi = kw.nargs
        args: list[Token] = []
        while len(args) < hi and (arg := self._same_line_value()) is not None:
            if len(args) >= lo and arg.text in spec.keywords:
                break
            args.append(arg)
            self.pos += 1
        node = Statement(tok, args, kw)
        nxt = self.peek()
        has_block = nxt is not None and nxt.kind == LBRACE
        if kw.block is None:
            if has_block:
                self.diags.error(nxt.loc, f"'{tok.text}' does not take a block")
                self.skip_block()
                return None
        elif not has_block:
            self.diags.error(tok.loc, f"'{tok.text}' needs a {{ ... }} block")
            return None
        else:
            self.pos += 1
            if isinstance(kw.block, ItemSpec):
                node.children = self.parse_items(kw.block)
            else:
                node.children = self.parse_statements(kw.block)
            close = self.peek()
            if close is None:
                if not self.diags.gave_up:
                    self.diags.error(nxt.loc, f"'{tok.text}' block is never closed (missing '}}')")
            else:
                node.end = close.loc
                self.pos += 1
        if len(args) < lo:
            want = f"{lo}" if lo == hi else f"at least {lo}"
            plural = "s" if lo > 1 else ""
            self.diags.error(tok.loc, f"'{tok.text}' needs {want} argument{plural}, got {len(args)}")
            return None
        return node

    def parse_items(self, spec: ItemSpec) -> list[Item]:
        items: list[Item] = []
        while (tok := self.peek()) is not None and tok.kind != RBRACE and not self.give_up():
            if tok.kind == LBRACE:
                self.diags.error(tok.loc, f"unexpected '{{' inside {spec.name}")
                self.skip_block()
                continue
            head = [tok]
            self.pos += 1
            while len(head) < spec.head_nargs[1] and (nxt := self._same_line_value()) is not None:
                if nxt.text in spec.options:
                    break
                if len(head) >= spec.head_nargs[0] and not _looks_like_head_arg(nxt):
                    break
                head.append(nxt)
                self.pos += 1
            item = Item(head, {}, {})
            while (opt := self._same_line_value()) is not None and opt.text in spec.options:
                self.pos += 1
                arity = spec.options[opt.text]
                values = []
                for _ in range(arity):
                    val = self._same_line_value()
                    if val is None:
                        self.diags.error(opt.loc, f"'{opt.text}' needs a value")
                        break
                    values.append(val)
                    self.pos += 1
                item.options[opt.text] = values
                item.option_tokens[opt.text] = opt
            items.append(item)
        return items

    # -- diagnostics ---------------------------------------------------------
    def report_preprocessor(self, tok: Token) -> None:
        """A ``$NAME`` left at the start of a line: the preprocessor knew no such parameter."""
        self.diags.error(tok.loc, f"parameter '{shown(tok.text)}' is not defined (define it first: $NAME=VALUE)")
        while self._same_line_value() is not None:
            self.pos += 1
        nxt = self.peek()
        if nxt is not None and nxt.kind == LBRACE and not nxt.first:
            self.skip_block()

    def report_unknown(self, tok: Token, spec: BlockSpec) -> None:
        name = shown(tok.text)
        elsewhere = where_valid(name)
        if elsewhere and spec.name not in elsewhere:
            self.diags.error(tok.loc, f"'{name}' is not valid in {spec.name} (it belongs in {', '.join(sorted(elsewhere))})")
            return
        if name in KEEPALIVED_KEYWORDS:
            self.diags.error(tok.loc, f"keepalived keyword '{name}' is not supported by pykeepalived")
            return
        close = difflib.get_close_matches(tok.text, list(spec.keywords), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        self.diags.error(tok.loc, f"unknown keyword '{name}' in {spec.name}{hint}")


def _looks_like_head_arg(tok: Token) -> bool:
    """Item heads take a trailing port or family (``10.0.0.1 80``, ``fwmark 1 inet``)."""
    return tok.text.isdigit() or tok.text in ("inet", "inet6")


def parse(tokens: list[Token], top: BlockSpec, diags: Diagnostics) -> list[Statement]:
    return Parser(tokens, diags).parse_top(top)
