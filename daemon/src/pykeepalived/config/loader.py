"""load_config(path): read, parse, build and validate a keepalived.conf."""

from __future__ import annotations

from .allocation import bulk_allocation
from .blocks import BlockCache, NotCut
from .build import collect
from .errors import ConfigError, Diagnostics, Location
from .grammar import Keyword, Statement
from .keywords import TOP
from .lexer import WORD, Token, tokenize_file, tokenize_text
from .model import Config
from .parser import parse
from .preprocess import Preprocessor, default_config_id
from .validate import validate

STATIC = ("static_ipaddress", "static_routes", "static_rules")
NAMED = ("vrrp_scripts", "track_files", "track_processes", "bfd_instances", "vrrp_sync_groups", "vrrp_instances",
         "virtual_server_groups")


def load_config(path: str, diags: Diagnostics | None = None, config_id: str | None = None,
                cache: BlockCache | None = None, exact: bool = False) -> tuple[Config, Diagnostics]:
    """Parse and validate ``path`` (following includes). Check ``diags.errors``.

    ``config_id`` selects keepalived's conditional lines (``@ID``); None: -i's, else the host name.
    ``cache``: unchanged top-level blocks of the last load are taken from it (config/blocks.py);
    the caller ``keep()``s the load it accepts; ``exact``: see ``BlockCache.load``."""
    diags = diags if diags is not None else Diagnostics()
    with bulk_allocation():
        if cache is not None:
            trial = Diagnostics()
            try:
                nodes = cache.load(path, trial, exact)
            except (NotCut, ConfigError):
                cache.used, cache.cutting = {}, {}  # the classic load follows: nothing of this one is kept
            else:
                for warning in trial.warnings:
                    diags.warning(warning.location, warning.message)
                return _from_nodes(nodes, path, diags), diags
        pre = Preprocessor(config_id or default_config_id())
        try:
            tokens = tokenize_file(path, diags, pre=pre)
        except ConfigError as exc:
            diags.error(Location(path, 0, 0), exc.message)
            return Config(), diags
        return _from_tokens(tokens, path, diags), diags


def loads_config(text: str, filename: str = "<string>", config_id: str | None = None) -> tuple[Config, Diagnostics]:
    """Like load_config, for text in memory (includes resolve relative to cwd)."""
    diags = Diagnostics()
    with bulk_allocation():
        tokens = tokenize_text(text, filename, diags, Preprocessor(config_id or default_config_id()), ())
        return _from_tokens(tokens, filename, diags), diags


def _from_tokens(tokens: list[Token], path: str, diags: Diagnostics) -> Config:
    return _from_nodes(parse(tokens, TOP, diags), path, diags)


def _from_nodes(nodes: list[Statement], path: str, diags: Diagnostics) -> Config:
    root_tok = Token(WORD, "", Location(path, 1, 1), True)
    root = Statement(root_tok, [], Keyword("", None, (0, 0), block=TOP), nodes)
    values, _locs = collect(root, diags)
    config = Config()
    if "global_defs" in values:
        config.global_defs = values["global_defs"]
    config.net_namespace = values.get("net_namespace")
    config.ssl = values.get("ssl")
    for attr in NAMED:
        setattr(config, attr, _by_name(values.get(attr, []), attr, diags))
    config.virtual_servers = tuple(values.get("virtual_servers", []))
    for attr in STATIC:  # each block may appear more than once: their lines, in order
        setattr(config, attr, tuple(line for block in values.get(attr, []) for line in block))
    validate(config, diags, root_tok.loc)
    return config


def _by_name(objects: list, attr: str, diags: Diagnostics) -> dict:
    out: dict = {}
    for obj in objects:
        if obj.name in out:
            first = out[obj.name].loc
            diags.error(obj.loc, f"{attr[:-1]} '{obj.name}' defined twice (first at {first})")
            continue
        out[obj.name] = obj
    return out
